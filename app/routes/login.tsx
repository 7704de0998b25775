import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useNavigation, useSearchParams } from "@remix-run/react";
import { FormMessage } from "~/components/form-message";
import { getUser, safeRedirect } from "~/utils/auth.server";
import { formError, readForm } from "~/utils/http.server";

export const meta: MetaFunction = () => [{ title: "Log in · CoUp" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  if (await getUser(request, context))
    return redirect(safeRedirect(new URL(request.url).searchParams.get("redirectTo")));
  return json({});
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await readForm(request.clone());
  const redirectTo = safeRedirect(form.get("redirectTo"));
  try {
    const user = await context.services.auth.authenticator.authenticate("form", request);
    return redirect(redirectTo, {
      headers: { "Set-Cookie": await context.services.auth.commitLogin(request, user.id) },
    });
  } catch (err) {
    return formError(err);
  }
}

export default function Login() {
  const data = useActionData<typeof action>();
  const [params] = useSearchParams();
  const busy = useNavigation().state !== "idle";
  return (
    <section className="card narrow">
      <h1>Log in</h1>
      <Form method="post" className="stack">
        <input type="hidden" name="redirectTo" value={params.get("redirectTo") ?? "/studies"} />
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required maxLength={254} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required maxLength={200} />
        </label>
        <FormMessage result={data} />
        <button type="submit" disabled={busy}>
          Log in
        </button>
      </Form>
      <p>
        New here? <Link to={`/signup?${params}`}>Sign up</Link>
      </p>
    </section>
  );
}
