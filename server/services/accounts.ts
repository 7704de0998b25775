import { UniqueConstraintError } from "sequelize";
import { z } from "zod";
import { burnVerify, hashPassword, verifyPassword } from "../../db/passwords.js";
import { User } from "../../db/models/index.js";
import type { RedisLink } from "../cluster/redis.js";
import { DomainError } from "./errors.js";

const EmailSchema = z.string().trim().toLowerCase().max(254).pipe(z.email("Enter a valid email address"));
const SignupSchema = z.object({
  name: z.string().trim().min(1, "Enter your name").max(80, "Name is too long (80 characters at most)"),
  email: EmailSchema,
  password: z.string().min(8, "Password must be at least 8 characters").max(200, "Password is too long"),
});
const RenameSchema = z.object({ name: SignupSchema.shape.name });
const ChangePasswordSchema = z.object({
  currentPassword: z.string().min(1, "Enter your current password").max(200, "Password is too long"),
  newPassword: SignupSchema.shape.password,
});
const LoginSchema = z.object({
  email: EmailSchema,
  password: z.string().min(1, "Enter your password").max(200, "Password is too long"),
});

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  avatarUrl: string | null;
}

export const INVALID_LOGIN = "Invalid email or password.";
export const THROTTLED_LOGIN = "Too many failed attempts. Wait a minute and try again.";

function toSessionUser(u: User): SessionUser {
  return { id: u.id, email: u.email, name: u.name, avatarUrl: u.avatarUrl };
}

/**
 * Counts failed logins per IP+email in a sliding window. In-process is enough for one server;
 * it forgets on restart, which only ever errs towards letting a user in. In a cluster every
 * instance keeps the same counts: failures and successes are announced through Redis.
 */
export class LoginThrottle {
  private failures = new Map<string, number[]>();
  private cluster: RedisLink | null = null;
  constructor(
    private readonly maxFailures = 5,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}
  private key(ip: string, email: string) {
    return `${ip}|${email.toLowerCase()}`;
  }
  private recent(key: string) {
    const cutoff = this.now() - this.windowMs;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }
  isBlocked(ip: string, email: string) {
    return this.recent(this.key(ip, email)).length >= this.maxFailures;
  }
  fail(ip: string, email: string) {
    this.failAt(this.key(ip, email), this.now());
    this.cluster?.broadcast("login-failed", { ip, email });
  }
  succeed(ip: string, email: string) {
    this.failures.delete(this.key(ip, email));
    this.cluster?.broadcast("login-succeeded", { ip, email });
  }
  /** Shares the counts with every other instance of the cluster. */
  shareThrough(cluster: RedisLink) {
    this.cluster = cluster;
    const parse = (d: unknown) =>
      d && typeof d === "object" && "ip" in d && "email" in d && typeof d.ip === "string" && typeof d.email === "string"
        ? this.key(d.ip, d.email)
        : null;
    cluster.onControl("login-failed", (d) => {
      const key = parse(d);
      if (key) this.failAt(key, this.now());
    });
    cluster.onControl("login-succeeded", (d) => {
      const key = parse(d);
      if (key) this.failures.delete(key);
    });
  }
  private failAt(key: string, at: number) {
    this.failures.set(key, [...this.recent(key), at]);
  }
}

export class AccountService {
  constructor(readonly throttle = new LoginThrottle()) {}

  async signup(input: unknown): Promise<SessionUser> {
    const data = SignupSchema.parse(input);
    try {
      const user = await User.create({
        name: data.name,
        email: data.email,
        passwordHash: await hashPassword(data.password),
        avatarUrl: null,
      });
      return toSessionUser(user);
    } catch (err) {
      if (err instanceof UniqueConstraintError) {
        throw new DomainError("CONFLICT", "An account with this email already exists. Log in instead.");
      }
      throw err;
    }
  }

  async login(input: unknown, ip: string): Promise<SessionUser> {
    const { email, password } = LoginSchema.parse(input);
    if (this.throttle.isBlocked(ip, email)) throw new DomainError("TOO_MANY_REQUESTS", THROTTLED_LOGIN);
    const user = await User.findOne({ where: { email } });
    const ok = user ? await verifyPassword(user.passwordHash, password) : (await burnVerify(password), false);
    if (!user || !ok) {
      this.throttle.fail(ip, email);
      throw new DomainError("UNAUTHORIZED", INVALID_LOGIN);
    }
    this.throttle.succeed(ip, email);
    return toSessionUser(user);
  }

  async rename(userId: string, input: unknown): Promise<SessionUser> {
    const { name } = RenameSchema.parse(input);
    const user = await User.findByPk(userId);
    if (!user) throw new DomainError("NOT_FOUND", "This account no longer exists.");
    await user.update({ name });
    return toSessionUser(user);
  }

  /** Checks the current password before setting a new one; ending other sessions is the caller's part. */
  async changePassword(userId: string, input: unknown): Promise<void> {
    const { currentPassword, newPassword } = ChangePasswordSchema.parse(input);
    const user = await User.findByPk(userId);
    if (!user) throw new DomainError("NOT_FOUND", "This account no longer exists.");
    // A stolen session must not become a way to guess the password: same throttle as logins.
    if (this.throttle.isBlocked("password-change", user.email)) {
      throw new DomainError("TOO_MANY_REQUESTS", THROTTLED_LOGIN);
    }
    if (!(await verifyPassword(user.passwordHash, currentPassword))) {
      this.throttle.fail("password-change", user.email);
      throw new DomainError("BAD_REQUEST", "Your current password is not correct.");
    }
    this.throttle.succeed("password-change", user.email);
    await user.update({ passwordHash: await hashPassword(newPassword) });
  }
}
