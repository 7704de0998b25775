// Unknown paths get the 404 page from the root error boundary rather than a bare error.
export function loader() {
  throw new Response("We couldn't find that page.", { status: 404 });
}
export default function NotFound() {
  return null;
}
