// The account page: display name, password, and the list of logged-in devices (sessions).
import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { FormMessage } from "~/components/form-message";
import { requireSession } from "~/utils/auth.server";
import { formError, readForm } from "~/utils/http.server";

export const meta: MetaFunction = () => [{ title: "Account · CoUp" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const session = await requireSession(request, context);
  const sessions = await context.services.auth.sessions.list(session.user.id);
  return json({
    name: session.user.name,
    email: session.user.email,
    // Session ids are bearer secrets: the page only learns which one is this browser's.
    sessions: sessions.map(({ id, ...rest }) => ({ ...rest, current: id === session.id })),
  });
}

export async function action({ request, context }: ActionFunctionArgs) {
  const session = await requireSession(request, context);
  const userId = session.user.id;
  const { accounts, auth } = context.services;
  const form = await readForm(request);
  const intent = form.get("intent");
  try {
    if (intent === "rename") {
      await accounts.rename(userId, { name: form.get("name") ?? "" });
      auth.sessions.refreshUser(userId);
      return json({ intent, ok: "Your name was changed." });
    }
    if (intent === "password") {
      await accounts.changePassword(userId, {
        currentPassword: form.get("currentPassword") ?? "",
        newPassword: form.get("newPassword") ?? "",
      });
      // Whoever might know the old password is logged out everywhere but here.
      const ended = await auth.sessions.endOthers(userId, session.id);
      return json({ intent, ok: `Your password was changed. ${loggedOut(ended)}` });
    }
    if (intent === "logout-others") {
      const ended = await auth.sessions.endOthers(userId, session.id);
      return json({ intent, ok: loggedOut(ended) });
    }
    return json({ intent, error: "Unknown action." }, { status: 400 });
  } catch (err) {
    const res = formError(err);
    const body = (await res.json()) as { error: string };
    return json({ intent, error: body.error }, { status: res.status });
  }
}

function loggedOut(n: number): string {
  return n === 0 ? "No other devices were logged in." : `Logged out ${n} other ${n === 1 ? "device" : "devices"}.`;
}

function when(iso: string): string {
  return new Date(iso).toLocaleString("en", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC";
}

export default function Account() {
  const { name, email, sessions } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  const messageFor = (intent: string) => <FormMessage result={result?.intent === intent ? result : null} />;
  return (
    <section className="card">
      <h1>Account</h1>
      <p>Logged in as {email}</p>

      <h2>Display name</h2>
      <Form method="post" className="stack">
        <input type="hidden" name="intent" value="rename" />
        <label>
          Name
          <input name="name" defaultValue={name} autoComplete="name" required maxLength={80} />
        </label>
        {messageFor("rename")}
        <button type="submit" disabled={busy}>
          Save name
        </button>
      </Form>

      <h2>Password</h2>
      <Form method="post" className="stack">
        <input type="hidden" name="intent" value="password" />
        <label>
          Current password
          <input name="currentPassword" type="password" autoComplete="current-password" required maxLength={200} />
        </label>
        <label>
          New password
          <input
            name="newPassword"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            maxLength={200}
          />
        </label>
        <p className="hint">Changing your password logs out every other device.</p>
        {messageFor("password")}
        <button type="submit" disabled={busy}>
          Change password
        </button>
      </Form>

      <h2>Where you're logged in</h2>
      <ul className="sessions" aria-label="Logged-in devices">
        {sessions.map((s, i) => (
          <li key={i} data-current={s.current || undefined}>
            <strong>{s.userAgent ?? "Unknown browser"}</strong>
            {s.current ? " (this device)" : null}
            <br />
            <small>
              Logged in {when(s.createdAt)} · last active {when(s.lastUsedAt)}
            </small>
          </li>
        ))}
      </ul>
      <Form method="post">
        <input type="hidden" name="intent" value="logout-others" />
        {messageFor("logout-others")}
        <button type="submit" disabled={busy}>
          Log out other devices
        </button>
      </Form>
    </section>
  );
}
