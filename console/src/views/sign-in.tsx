import { useState } from 'preact/hooks';
import { signIn, type Session } from '../api';

/** The API key form: the key is checked against the REST API and kept in sessionStorage only. */
export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      onSignedIn(await signIn(key.trim()));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="sign-in" onSubmit={(e) => void submit(e)} data-testid="sign-in">
      <h1>Hearth console</h1>
      <label>
        API key
        <input type="password" autocomplete="off" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} data-testid="api-key" />
      </label>
      <button type="submit" disabled={busy || !key.trim()} data-testid="sign-in-submit">
        Sign in
      </button>
      {error && (
        <p class="error" data-testid="sign-in-error">
          {error}
        </p>
      )}
      <p class="hint">The key stays in this tab's session storage and is sent only to this server's REST API.</p>
    </form>
  );
}
