import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useNavigation, useSearchParams } from "@remix-run/react";
import { FormMessage } from "~/components/form-message";
import { getUser, safeRedirect } from "~/utils/auth.server";
import { formError, readForm } from "~/utils/http.server";

export const meta: MetaFunction = () => [{ title: "Sign up · CoUp" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  if (await getUser(request, context)) return redirect("/studies");
  return json({});
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await readForm(request);
  try {
    const user = await context.services.accounts.signup({
      name: form.get("name") ?? "",
      email: form.get("email") ?? "",
      password: form.get("password") ?? "",
    });
    return redirect(safeRedirect(form.get("redirectTo")), {
      headers: { "Set-Cookie": await context.services.auth.commitLogin(request, user.id) },
    });
  } catch (err) {
    return formError(err);
  }
}

export default function Signup() {
  const data = useActionData<typeof action>();
  const [params] = useSearchParams();
  const busy = useNavigation().state !== "idle";
  return (
    <section className="card narrow">
      <h1>Sign up</h1>
      <Form method="post" className="stack">
        <input type="hidden" name="redirectTo" value={params.get("redirectTo") ?? "/studies"} />
        <label>
          Name
          <input name="name" autoComplete="name" required maxLength={80} />
        </label>
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required maxLength={254} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="new-password" required minLength={8} maxLength={200} />
        </label>
        <FormMessage result={data} />
        <button type="submit" disabled={busy}>
          Sign up
        </button>
      </Form>
      <p>
        Already have an account? <Link to={`/login?${params}`}>Log in</Link>
      </p>
    </section>
  );
}
