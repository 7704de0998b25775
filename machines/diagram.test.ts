import { and, fromPromise, setup } from "xstate";
import { describe, expect, it } from "vitest";
import { activePaths, activeStateIds, describeMachine, toMermaid, withActiveStates } from "./diagram";

const machine = setup({
  types: { events: {} as { type: "GO" } | { type: "STOP" } | { type: "PING" } },
  actors: { load: fromPromise(async () => 1) },
  guards: { ready: () => true, allowed: (_: unknown, _p: { who: string }) => true },
  actions: { note: () => {} },
  delays: { wait: 1_000 },
}).createMachine({
  id: "demo",
  initial: "idle",
  on: { STOP: ".done" },
  states: {
    idle: {
      on: {
        GO: [
          { guard: and(["ready", { type: "allowed", params: { who: "me" } }]), target: "busy", actions: "note" },
          { target: "idle", reenter: true },
        ],
        PING: { actions: "note" },
      },
    },
    busy: {
      type: "parallel",
      states: {
        left: {
          initial: "a",
          on: { GO: ".b" },
          states: {
            a: {
              invoke: { src: "load", onDone: "b", onError: "#demo.done" },
            },
            b: { after: { wait: "a" } },
          },
        },
        right: { initial: "x", states: { x: { always: { guard: "ready", target: "y" } }, y: {} } },
      },
    },
    done: { type: "final", entry: "note" },
  },
});

describe("describeMachine", () => {
  const d = describeMachine(machine);
  const find = (path: string) => {
    const walk = (s: typeof d.root): typeof d.root | undefined =>
      s.path === path ? s : s.children.map(walk).find(Boolean);
    return walk(d.root)!;
  };

  it("reads nesting, parallel regions, initial states and final states", () => {
    expect(d.id).toBe("demo");
    expect(d.root.initial).toBe("idle");
    expect(d.root.children.map((c) => [c.key, c.type])).toEqual([
      ["idle", "atomic"],
      ["busy", "parallel"],
      ["done", "final"],
    ]);
    expect(find("busy").children.map((c) => c.path)).toEqual(["busy.left", "busy.right"]);
    expect(find("busy.left").initial).toBe("a");
    expect(find("done").entry).toEqual(["note"]);
  });

  it("reads events, guards (combined, with params), targets, re-entry and actions", () => {
    expect(find("idle").transitions).toEqual([
      { trigger: "GO", guard: "and(ready, allowed(me))", targets: ["busy"], reenter: false, actions: ["note"] },
      { trigger: "GO", guard: null, targets: ["idle"], reenter: true, actions: [] },
      { trigger: "PING", guard: null, targets: [], reenter: false, actions: ["note"] },
    ]);
    expect(d.root.transitions).toEqual([
      { trigger: "STOP", guard: null, targets: ["done"], reenter: false, actions: [] },
    ]);
  });

  it("names invoked actors and their done/error transitions, delays and eventless transitions", () => {
    const a = find("busy.left.a");
    expect(a.invokes).toEqual(["load"]);
    expect(a.transitions.map((t) => [t.trigger, t.targets])).toEqual([
      ["done: load", ["busy.left.b"]],
      ["error: load", ["done"]],
    ]);
    expect(find("busy.left.b").transitions.map((t) => [t.trigger, t.targets])).toEqual([
      ["after wait", ["busy.left.a"]],
    ]);
    // The delay's raise/cancel that xstate adds to entry/exit are not named actions.
    expect(find("busy.left.b").entry).toEqual([]);
    expect(find("busy.right.x").transitions[0]).toMatchObject({ trigger: "always", guard: "ready" });
  });
});

describe("toMermaid", () => {
  const text = toMermaid(describeMachine(machine));
  const lines = text.split("\n").map((l) => l.trim());

  it("declares every state before a transition names it, and writes each transition in the block holding both ends", () => {
    expect(lines[0]).toBe("stateDiagram-v2");
    expect(lines).toContain('state "busy (parallel)" as demo_busy {');
    expect(lines).toContain("--");
    expect(lines).toContain("demo_busy_left_a : invoke load");
    expect(lines).toContain("demo_done --> [*]");
    // Leaving two levels of nesting: written at the top, after demo_done is declared.
    const out = lines.indexOf("demo_busy_left_a --> demo_done : error: load");
    expect(out).toBeGreaterThan(lines.indexOf('state "done" as demo_done'));
    // Inside the region: written in the region's block, before it closes.
    const inner = lines.indexOf("demo_busy_left_b --> demo_busy_left_a : after wait");
    expect(inner).toBeGreaterThan(lines.indexOf('state "left" as demo_busy_left {'));
    expect(inner).toBeLessThan(lines.indexOf('state "right" as demo_busy_right {'));
    expect(lines).toContain("demo_idle --> demo_busy : GO [and(ready, allowed(me))]");
    expect(lines).toContain("demo_idle --> demo_idle : GO");
  });

  it("writes a transition whose ends meet in a parallel state outside its regions (Mermaid fails among them)", () => {
    const at = lines.indexOf("demo_busy_left --> demo_busy_left_b : GO");
    expect(at).toBeGreaterThan(lines.indexOf('state "done" as demo_done'));
  });

  it("leaves out transitions that stay put and those of the root (listed in the tables instead)", () => {
    expect(text).not.toContain("PING");
    expect(text).not.toContain("STOP");
  });
});

it("boxes a parallel root, since Mermaid allows concurrent regions only inside a composite state", () => {
  const parallel = setup({}).createMachine({
    id: "both",
    type: "parallel",
    states: { a: { initial: "x", states: { x: {} } }, b: { initial: "y", states: { y: {} } } },
  });
  expect(toMermaid(describeMachine(parallel)).split("\n")).toEqual([
    "stateDiagram-v2",
    '  state "both (parallel)" as both {',
    '    state "a" as both_a {',
    "      [*] --> both_a_x",
    '      state "x" as both_a_x',
    "    }",
    "    --",
    '    state "b" as both_b {',
    "      [*] --> both_b_y",
    '      state "y" as both_b_y',
    "    }",
    "  }",
  ]);
});

describe("activePaths", () => {
  it("lists every active state with its ancestors", () => {
    expect([...activePaths("idle")]).toEqual(["idle"]);
    expect([...activePaths({ busy: { left: "a", right: "y" } })].sort()).toEqual([
      "busy",
      "busy.left",
      "busy.left.a",
      "busy.right",
      "busy.right.y",
    ]);
  });
});

describe("withActiveStates", () => {
  const d = describeMachine(machine);
  /** The states the text gives the active class, by Mermaid id. */
  const highlighted = (text: string) =>
    text
      .split("\n")
      .map((l) => /^\s*class (\S+) active$/.exec(l)?.[1])
      .filter(Boolean);

  it("is the docs' diagram with a class for the active states added after it", () => {
    const text = withActiveStates(d, activePaths("idle"));
    expect(text.startsWith(`${toMermaid(d)}\n`)).toBe(true);
    expect(text.split("\n").filter((l) => l.trim().startsWith("classDef active "))).toHaveLength(1);
    expect(highlighted(text)).toEqual(["demo_idle"]);
  });

  it("highlights the active leaf and every ancestor, in each parallel region, and nothing else", () => {
    const text = withActiveStates(d, activePaths({ busy: { left: "b", right: "x" } }));
    expect(highlighted(text)).toEqual([
      "demo_busy",
      "demo_busy_left",
      "demo_busy_left_b",
      "demo_busy_right",
      "demo_busy_right_x",
    ]);
    // The ids the Inspector moves the highlight by when the machine changes state are the same.
    expect(activeStateIds(d, activePaths({ busy: { left: "b", right: "x" } }))).toEqual(highlighted(text));
  });

  it("follows the machine: a move in one region moves only that region's highlight", () => {
    const before = highlighted(withActiveStates(d, activePaths({ busy: { left: "a", right: "x" } })));
    const after = highlighted(withActiveStates(d, activePaths({ busy: { left: "a", right: "y" } })));
    expect(before.filter((id) => !after.includes(id))).toEqual(["demo_busy_right_x"]);
    expect(after.filter((id) => !before.includes(id))).toEqual(["demo_busy_right_y"]);
  });

  it("names no state the machine does not have (Mermaid would draw a box for it)", () => {
    expect(highlighted(withActiveStates(d, new Set(["idle", "gone", "busy.nowhere"])))).toEqual(["demo_idle"]);
    expect(activeStateIds(d, new Set(["", "gone"]))).toEqual([]);
  });
});
