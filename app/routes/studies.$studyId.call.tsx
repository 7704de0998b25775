import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { useEffect, useMemo, useState } from "react";
import { CallRoom } from "~/components/call/call-room";
import { requireUser } from "~/utils/auth.server";
import { debugPanelRequested } from "~/utils/debug-panel";
import { toErrorResponse } from "~/utils/http.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `Call · ${data?.study.name ?? "Study"} · CoUp` },
];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  try {
    const view = await context.services.studies.getForMember(user.id, params.studyId);
    const { session } = await context.services.videoCall.status(user.id, { studyId: view.study.id });
    const debug = debugPanelRequested(request.url);
    return json({
      study: { id: view.study.id, name: view.study.name },
      self: { userId: user.id, name: user.name },
      call: session,
      debug,
      maxUploadBytes: context.services.maxUploadBytes,
      maxParticipants: context.services.videoCall.maxParticipants,
      isHost: view.me.canManage,
    });
  } catch (err) {
    throw toErrorResponse(err);
  }
}

/** The call page brings its own landmarks (the stage is the page's <main>): see root.tsx. */
export const handle = { frame: "room" };

export default function CallPage() {
  const { study, self, call, debug, maxUploadBytes, maxParticipants, isHost } = useLoaderData<typeof loader>();
  // Media devices, PeerJS and WebRTC exist only in the browser: render the call after hydration.
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  const me = useMemo(() => self, [self.userId, self.name]); // eslint-disable-line react-hooks/exhaustive-deps
  if (!mounted)
    return (
      <main>
        <p role="status">Getting the call ready…</p>
      </main>
    );
  return (
    <CallRoom
      studyId={study.id}
      studyName={study.name}
      self={me}
      initialCall={call}
      debug={debug}
      maxUploadBytes={maxUploadBytes}
      maxParticipants={maxParticipants}
      isHost={isHost}
    />
  );
}
