import { redirect, type ActionFunctionArgs } from "@remix-run/node";

export async function action({ request, context }: ActionFunctionArgs) {
  return redirect("/login", { headers: { "Set-Cookie": await context.services.auth.destroy(request) } });
}
export function loader() {
  return redirect("/studies");
}

/** Never shown (both handlers redirect); it makes this a page route so a refused post gets the error page. */
export default function Logout() {
  return null;
}
