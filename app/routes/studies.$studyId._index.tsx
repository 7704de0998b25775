import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { CallWidget } from "~/components/call/call-widget";
import { FormMessage } from "~/components/form-message";
import { formatCallDate, formatDuration } from "~/utils/call-table";
import { requireUser } from "~/utils/auth.server";
import { formError, toErrorResponse, readForm } from "~/utils/http.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.study.name ?? "Study"} · CoUp` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  try {
    const view = await context.services.studies.getForMember(user.id, params.studyId);
    const { session } = await context.services.videoCall.status(user.id, { studyId: view.study.id });
    const past = await context.services.videoCall.history(user.id, { studyId: view.study.id, limit: 5 });
    return json({
      ...view,
      meId: user.id,
      call: session,
      maxParticipants: context.services.videoCall.maxParticipants,
      pastCalls: past.sessions.map((s) => ({
        id: s.id,
        startedAt: s.startedAt,
        duration: s.duration,
        people: s.participants.map((p) => p.name),
      })),
      morePastCalls: past.nextCursor !== null,
    });
  } catch (err) {
    throw toErrorResponse(err);
  }
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const user = await requireUser(request, context);
  const form = await readForm(request);
  const intent = form.get("intent");
  const target = { userId: form.get("userId"), role: form.get("role") };
  try {
    if (intent === "approve") await context.services.studies.approve(user.id, params.studyId, target);
    else if (intent === "reject") await context.services.studies.reject(user.id, params.studyId, target);
    else if (intent === "role") await context.services.studies.changeRole(user.id, params.studyId, target);
    else return json({ error: "Unknown action." }, { status: 400 });
    return json({ ok: true });
  } catch (err) {
    return formError(err);
  }
}

export default function StudyPage() {
  const { study, me, members, meId, call, maxParticipants, pastCalls, morePastCalls } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const active = members.filter((m) => m.status === "ACTIVE");
  const pending = members.filter((m) => m.status === "PENDING");
  return (
    <div className="page">
      <h1>{study.name}</h1>
      {study.description ? <p className="muted">{study.description}</p> : null}
      {study.inviteCode ? (
        <p>
          Invite code: <code data-testid="invite-code">{study.inviteCode}</code>
        </p>
      ) : null}
      <CallWidget
        studyId={study.id}
        initial={call}
        maxParticipants={maxParticipants}
        meId={meId}
        isHost={me.canManage}
      />
      <FormMessage result={result} />
      <section className="card" aria-labelledby="past-calls-heading">
        <h2 id="past-calls-heading">Past calls</h2>
        {pastCalls.length === 0 ? (
          <p className="muted">No calls yet.</p>
        ) : (
          <ul className="past-calls" aria-label="Past calls">
            {pastCalls.map((c) => (
              <li key={c.id}>
                <Link to={`/studies/${study.id}/calls/${c.id}`}>{formatCallDate(c.startedAt)}</Link>{" "}
                <span className="muted">
                  {c.duration === null ? "" : formatDuration(c.duration)} · {c.people.join(", ") || "Nobody joined"}
                </span>
              </li>
            ))}
          </ul>
        )}
        {pastCalls.length > 0 ? (
          <p>
            <Link to={`/studies/${study.id}/calls`}>{morePastCalls ? "All past calls" : "Past calls page"}</Link>
          </p>
        ) : null}
      </section>
      <section className="card">
        <h2>Members</h2>
        <ul className="members" aria-label="Members">
          {active.map((m) => (
            <li key={m.userId}>
              <span className="member-name truncate" title={m.name}>
                {m.name}
              </span>{" "}
              <span className="badge">{m.role.toLowerCase()}</span>
              {me.canManage && m.role !== "OWNER" && m.userId !== meId ? (
                <Form method="post" className="inline-form">
                  <input type="hidden" name="intent" value="role" />
                  <input type="hidden" name="userId" value={m.userId} />
                  <input type="hidden" name="role" value={m.role === "ADMIN" ? "MEMBER" : "ADMIN"} />
                  <button
                    type="submit"
                    className="small"
                    title={m.role === "ADMIN" ? `Make ${m.name} a member` : `Make ${m.name} an admin`}
                  >
                    {m.role === "ADMIN" ? `Make ${m.name} a member` : `Make ${m.name} an admin`}
                  </button>
                </Form>
              ) : null}
            </li>
          ))}
        </ul>
      </section>
      {me.canManage && pending.length > 0 ? (
        <section className="card">
          <h2>Waiting for approval</h2>
          <ul className="members" aria-label="Pending members">
            {pending.map((m) => (
              <li key={m.userId}>
                <span className="member-name truncate" title={m.name}>
                  {m.name}
                </span>{" "}
                <span className="muted truncate" title={m.email}>
                  {m.email}
                </span>
                <Form method="post" className="inline-form">
                  <input type="hidden" name="userId" value={m.userId} />
                  <button type="submit" name="intent" value="approve" className="small" title={`Approve ${m.name}`}>
                    Approve {m.name}
                  </button>
                  <button
                    type="submit"
                    name="intent"
                    value="reject"
                    className="small secondary"
                    title={`Reject ${m.name}`}
                  >
                    Reject {m.name}
                  </button>
                </Form>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}
