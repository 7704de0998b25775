import { describe, expect, it } from "vitest";
import { User } from "../../db/models/index.js";
import { AccountService, INVALID_LOGIN, LoginThrottle, THROTTLED_LOGIN } from "../../server/services/accounts.js";
import { useTestDatabase } from "../helpers/db.js";

useTestDatabase();

describe("accounts", () => {
  it("signs up with a hashed password and logs in case-insensitively", async () => {
    const accounts = new AccountService();
    const user = await accounts.signup({ name: " Ada ", email: "Ada@Example.COM", password: "correct horse" });
    expect(user).toMatchObject({ name: "Ada", email: "ada@example.com" });
    const row = await User.findByPk(user.id);
    expect(row?.passwordHash).toMatch(/^\$argon2/);
    expect(row?.passwordHash).not.toContain("correct horse");
    await expect(
      accounts.login({ email: "ADA@example.com", password: "correct horse" }, "1.1.1.1"),
    ).resolves.toMatchObject({ id: user.id });
  });

  it("refuses a second account for the same email in another case", async () => {
    const accounts = new AccountService();
    await accounts.signup({ name: "Bo", email: "bo@example.com", password: "password-1" });
    await expect(
      accounts.signup({ name: "Bo2", email: "BO@example.com", password: "password-2" }),
    ).rejects.toMatchObject({ code: "CONFLICT" });
    expect(await User.count({ where: { email: "bo@example.com" } })).toBe(1);
  });

  it("gives the same message for a wrong password and an unknown email", async () => {
    const accounts = new AccountService();
    await accounts.signup({ name: "Cy", email: "cy@example.com", password: "password-1" });
    await expect(accounts.login({ email: "cy@example.com", password: "nope-nope" }, "ip")).rejects.toThrow(
      INVALID_LOGIN,
    );
    await expect(accounts.login({ email: "nobody@example.com", password: "nope-nope" }, "ip")).rejects.toThrow(
      INVALID_LOGIN,
    );
  });

  it("throttles repeated failures per IP and email, even for the right password", async () => {
    let now = 0;
    const accounts = new AccountService(new LoginThrottle(3, 60_000, () => now));
    await accounts.signup({ name: "Di", email: "di@example.com", password: "password-1" });
    for (let i = 0; i < 3; i++)
      await expect(accounts.login({ email: "di@example.com", password: "bad" }, "9.9.9.9")).rejects.toThrow(
        INVALID_LOGIN,
      );
    await expect(accounts.login({ email: "di@example.com", password: "password-1" }, "9.9.9.9")).rejects.toThrow(
      THROTTLED_LOGIN,
    );
    // another address is not punished for this one's guesses
    await expect(accounts.login({ email: "di@example.com", password: "password-1" }, "8.8.8.8")).resolves.toBeTruthy();
    now += 61_000;
    await expect(accounts.login({ email: "di@example.com", password: "password-1" }, "9.9.9.9")).resolves.toBeTruthy();
  });

  it("rejects malformed sign-ups with a human message and writes nothing", async () => {
    const accounts = new AccountService();
    const before = await User.count();
    await expect(accounts.signup({ name: "", email: "x@example.com", password: "password-1" })).rejects.toThrow(
      /Enter your name/,
    );
    await expect(accounts.signup({ name: "X", email: "not-an-email", password: "password-1" })).rejects.toThrow(
      /valid email/,
    );
    await expect(accounts.signup({ name: "X", email: "x@example.com", password: "short" })).rejects.toThrow(
      /at least 8/,
    );
    await expect(
      accounts.signup({ name: "X".repeat(500), email: "x@example.com", password: "password-1" }),
    ).rejects.toThrow(/too long/);
    expect(await User.count()).toBe(before);
  });
});
