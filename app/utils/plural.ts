/** Counted nouns ("1 member", "3 members") chosen by the language's plural rules, not by `=== 1`. */

const rules = new Intl.PluralRules("en-US");

function countOf(count: number, forms: { one: string; other: string }): string {
  const form = rules.select(count) === "one" ? forms.one : forms.other;
  return `${count.toLocaleString("en-US")} ${form}`;
}

export const memberCount = (count: number) => countOf(count, { one: "member", other: "members" });
