/** The one place a form action's answer is shown: an error as an alert, a success as a status. */
export function FormMessage({ result }: { result: { error?: string; ok?: string | boolean } | undefined | null }) {
  if (result?.error) {
    return (
      <p role="alert" className="form-error">
        {result.error}
      </p>
    );
  }
  if (typeof result?.ok === "string") {
    return (
      <p role="status" className="form-ok">
        {result.ok}
      </p>
    );
  }
  return null;
}
