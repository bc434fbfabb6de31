import { Layout } from "../layout.tsx";

/** The sign-in form: the key is posted once and exchanged for a session; it is never kept in the page. */
export function SignInPage(props: { error?: string }) {
  return (
    <Layout title="Sign in">
      {props.error && (
        <p class="error" role="alert">
          {props.error}
        </p>
      )}
      <form method="post" action="/signin">
        <label>
          API key <input type="password" name="key" autocomplete="off" required />
        </label>
        <button type="submit">Sign in</button>
      </form>
    </Layout>
  );
}
