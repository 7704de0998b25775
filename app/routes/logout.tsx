import { redirect, type ActionFunctionArgs } from "@remix-run/node";

export async function action({ request, context }: ActionFunctionArgs) {
  return redirect("/login", { headers: { "Set-Cookie": await context.services.auth.destroy(request) } });
}
export function loader() {
  return redirect("/studies");
}
