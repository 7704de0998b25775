import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { json } from "@remix-run/node";
import {
  Form,
  isRouteErrorResponse,
  Link,
  Links,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  useLoaderData,
  useMatches,
  useRouteError,
  useRouteLoaderData,
} from "@remix-run/react";
import type { ReactNode } from "react";
import { Toaster } from "sonner";
import stylesHref from "./styles.css";
import { getUser } from "./utils/auth.server";
import { useNonce } from "./utils/nonce";

// Icons and the web manifest are plain files in public/, served at the site root.
export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesHref },
  { rel: "icon", href: "/favicon.ico", sizes: "48x48" },
  { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" },
  { rel: "apple-touch-icon", href: "/apple-touch-icon.png" },
  { rel: "manifest", href: "/site.webmanifest" },
];
export const meta: MetaFunction = () => [{ title: "CoUp study rooms" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await getUser(request, context);
  return json({ user: user ? { id: user.id, name: user.name, email: user.email } : null });
}

function Shell({ children }: { children: ReactNode }) {
  const data = useRouteLoaderData<typeof loader>("root");
  const user = data?.user ?? null;
  const nonce = useNonce();
  // The call page is a full-window room with its own <main> (the stage): no site-frame <main> around it.
  const roomFrame = useMatches().some((m) => (m.handle as { frame?: string } | undefined)?.frame === "room");
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body>
        <header className="topbar">
          <Link to="/studies" className="brand">
            CoUp <span>study rooms</span>
          </Link>
          <nav>
            {user ? (
              <>
                <span className="who truncate" title={user.name}>
                  {user.name}
                </span>
                <Link to="/account">Account</Link>
                <Form method="post" action="/logout">
                  <button type="submit" className="link-button">
                    Log out
                  </button>
                </Form>
              </>
            ) : (
              <>
                <Link to="/login">Log in</Link>
                <Link to="/signup">Sign up</Link>
              </>
            )}
          </nav>
        </header>
        {roomFrame ? <div className="room-frame">{children}</div> : <main>{children}</main>}
        {/* Above the call's pinned control bar (its height is --call-controls-h), never over it. */}
        <Toaster
          position="bottom-right"
          richColors
          closeButton
          offset={{ bottom: "calc(var(--call-controls-h, 0px) + 24px)" }}
          mobileOffset={{ bottom: "calc(var(--call-controls-h, 0px) + 16px)" }}
        />
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  return <Shell>{children}</Shell>;
}

export default function App() {
  useLoaderData<typeof loader>();
  return <Outlet />;
}

/** The one error boundary: thrown Responses show their message; anything else a generic apology. */
export function ErrorBoundary() {
  const error = useRouteError();
  if (isRouteErrorResponse(error)) {
    const title =
      error.status === 404
        ? "Not found"
        : error.status === 403
          ? "Access denied"
          : error.status === 401
            ? "Please log in"
            : "Something went wrong";
    const message =
      typeof error.data === "string" && error.data
        ? error.data
        : error.status === 404
          ? "We couldn't find that page."
          : "The request couldn't be completed.";
    return (
      <section className="error-page" data-status={error.status}>
        <h1>{title}</h1>
        <p>{message}</p>
        <p>
          <Link to="/studies">Back to my studies</Link>
        </p>
      </section>
    );
  }
  return (
    <section className="error-page" data-status={500}>
      <h1>Something went wrong</h1>
      <p>An unexpected error happened on our side. Try again in a moment.</p>
    </section>
  );
}
