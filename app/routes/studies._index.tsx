import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { FormMessage } from "~/components/form-message";
import { requireUser } from "~/utils/auth.server";
import { formError, readForm } from "~/utils/http.server";
import { memberCount } from "~/utils/plural";

export const meta: MetaFunction = () => [{ title: "My studies · CoUp" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  return json({ studies: await context.services.studies.listMine(user.id) });
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireUser(request, context);
  const form = await readForm(request);
  const intent = form.get("intent");
  try {
    if (intent === "create") {
      const study = await context.services.studies.create(user.id, {
        name: form.get("name") ?? "",
        description: form.get("description") ?? "",
        requiresApproval: form.get("requiresApproval") === "on",
      });
      return redirect(`/studies/${study.id}`);
    }
    if (intent === "join") {
      const { study, status } = await context.services.studies.joinByCode(user.id, form.get("inviteCode") ?? "");
      if (status === "ACTIVE") return redirect(`/studies/${study.id}`);
      return json({ intent, ok: `Your request to join "${study.name}" is waiting for approval.` });
    }
    return json({ intent, error: "Unknown action." }, { status: 400 });
  } catch (err) {
    const res = formError(err);
    const body = (await res.json()) as { error: string };
    return json({ intent, error: body.error }, { status: res.status });
  }
}

export default function Studies() {
  const { studies } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  const messageFor = (intent: string) => <FormMessage result={result?.intent === intent ? result : null} />;
  return (
    <div className="page">
      <h1>My studies</h1>
      {studies.length === 0 ? (
        <p className="muted">You are not in any study yet. Create one or join with an invite code.</p>
      ) : (
        <ul className="study-list" aria-label="My studies">
          {studies.map((s) => (
            <li key={s.id}>
              {s.status === "ACTIVE" ? (
                <Link to={`/studies/${s.id}`} className="truncate" title={s.name}>
                  {s.name}
                </Link>
              ) : (
                <span className="truncate" title={s.name}>
                  {s.name}
                </span>
              )}
              <span className="badge">{s.status === "PENDING" ? "Waiting for approval" : s.role.toLowerCase()}</span>
              <span className="muted">{memberCount(s.memberCount)}</span>
            </li>
          ))}
        </ul>
      )}
      <div className="two-col">
        <section className="card">
          <h2>Create a study</h2>
          <Form method="post" className="stack">
            <input type="hidden" name="intent" value="create" />
            <label>
              Study name
              <input name="name" required maxLength={100} />
            </label>
            <label>
              Description
              <textarea name="description" maxLength={2000} rows={3} />
            </label>
            <label className="inline">
              <input type="checkbox" name="requiresApproval" /> New members need approval
            </label>
            {messageFor("create")}
            <button type="submit" disabled={busy}>
              Create study
            </button>
          </Form>
        </section>
        <section className="card">
          <h2>Join with an invite code</h2>
          <Form method="post" className="stack">
            <input type="hidden" name="intent" value="join" />
            <label>
              Invite code
              <input name="inviteCode" required maxLength={32} autoComplete="off" />
            </label>
            {messageFor("join")}
            <button type="submit" disabled={busy}>
              Join study
            </button>
          </Form>
        </section>
      </div>
    </div>
  );
}
