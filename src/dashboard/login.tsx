import { HtmlDocument, Logo, PRODUCT_NAME } from './layout'
import { TOKEN_FRAGMENT_SCRIPT } from './scripts'

/** Where the form posts (routes.tsx); the handler sets the session cookie and redirects to the overview. */
export const LOGIN_ACTION = '/admin/login'

/** The sign-in form: the ADMIN_TOKEN, exchanged for an HttpOnly session cookie. */
export function LoginPage(props: { nonce: string; error?: string }) {
  return (
    <HtmlDocument title="Sign in" nonce={props.nonce} bodyClass="login-body">
      <main class="login">
        <div class="brand">
          <Logo />
          {PRODUCT_NAME}
        </div>
        <h1>Sign in to the dashboard</h1>
        <p>Enter the router’s admin token (the ADMIN_TOKEN secret).</p>
        {props.error ? (
          <p class="error" role="alert">
            {props.error}
          </p>
        ) : null}
        <form id="login-form" method="post" action={LOGIN_ACTION}>
          <label for="token">Admin token</label>
          <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
          <button type="submit" class="btn">
            Sign in
          </button>
        </form>
        <p class="hint muted">
          Running locally? <code>npm start</code> prints a link that signs you in.
        </p>
      </main>
      <script nonce={props.nonce} dangerouslySetInnerHTML={{ __html: TOKEN_FRAGMENT_SCRIPT }} />
    </HtmlDocument>
  )
}
