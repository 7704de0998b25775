import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";

// The rules and the error mapping live in the server's VideoCallRest; this route only forwards.
export const loader = ({ request, context, params }: LoaderFunctionArgs) =>
  context.services.videoCallRest.handle("start", request, params.studyId);
export const action = ({ request, context, params }: ActionFunctionArgs) =>
  context.services.videoCallRest.handle("start", request, params.studyId);
