import { describe, expect, it } from "vitest";
import { z } from "zod";
import { DomainError, describeClientError, toClientError } from "./errors.js";

describe("toClientError: what every door tells the client", () => {
  it("maps a domain error to its status and message", () => {
    expect(toClientError(new DomainError("FORBIDDEN", "You are not a member of this study."))).toEqual({
      code: "FORBIDDEN",
      status: 403,
      message: "You are not a member of this study.",
      field: null,
      reason: null,
    });
    expect(toClientError(new DomainError("FORBIDDEN", "The call is locked", "locked"))).toMatchObject({
      status: 403,
      reason: "locked",
    });
  });

  it("recognises a DomainError thrown by another bundle's copy of the class (Remix) by its shape", () => {
    const foreign = Object.assign(new Error("This call has already ended."), {
      name: "DomainError",
      code: "BAD_REQUEST",
    });
    expect(toClientError(foreign)).toMatchObject({ status: 400, message: "This call has already ended." });
    // A look-alike with a code we don't know is not the client's doing.
    expect(toClientError(Object.assign(new Error("x"), { name: "DomainError", code: "TEAPOT" }))).toBeNull();
  });

  it("turns invalid input into a 400 naming the first field, for API clients", () => {
    const parsed = z.object({ studyId: z.uuid("Study id must be a UUID") }).safeParse({ studyId: "nope" });
    const client = toClientError(parsed.error);
    expect(client).toEqual({
      code: "BAD_REQUEST",
      status: 400,
      message: "Study id must be a UUID",
      field: "studyId",
      reason: null,
    });
    expect(describeClientError(client!)).toBe("studyId: Study id must be a UUID");
  });

  it("leaves anything else to the 500 path", () => {
    expect(toClientError(new Error("connection refused"))).toBeNull();
    expect(toClientError("boom")).toBeNull();
  });
});
