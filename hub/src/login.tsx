import { useState } from 'preact/hooks'
import { api, ApiError } from './api'

/** On-Prem's code for "the default password must be changed first". */
const PASSWORD_CHANGE_REQUIRED = 1024

/** Sign in as the deployment admin; at first sign-in, choose a new password as well. */
export function Login({ onSignedIn, notice }: { onSignedIn: (username: string) => void; notice?: string }) {
  const [username, setUsername] = useState('admin')
  const [password, setPassword] = useState('')
  const [newPassword, setNewPassword] = useState('')
  const [mustChange, setMustChange] = useState(false)
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)

  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    try {
      const body = mustChange ? { username, password, newPassword } : { username, password }
      const session = await api<{ username: string }>('POST', 'session', body)
      onSignedIn(session.username)
    } catch (err) {
      if (err instanceof ApiError && err.code === PASSWORD_CHANGE_REQUIRED) {
        setMustChange(true)
        setError('The default password must be changed before the first sign-in: choose a new one.')
      } else {
        setError((err as Error).message)
      }
    } finally {
      setBusy(false)
    }
  }

  return (
    <main class="login">
      <h1>wabox Hub</h1>
      {notice && <p role="status">{notice}</p>}
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          Username
          <input name="username" autocomplete="username" required value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        {mustChange && (
          <label>
            New password
            <input name="new-password" type="password" autocomplete="new-password" required value={newPassword}
              aria-describedby="password-rule" onInput={(e) => setNewPassword((e.target as HTMLInputElement).value)} />
            <small id="password-rule">8 to 64 characters with a digit, an upper-case and a lower-case letter and a symbol.</small>
          </label>
        )}
        {error && <p role="alert" class="error">{error}</p>}
        <button type="submit" disabled={busy}>{mustChange ? 'Change password and sign in' : 'Sign in'}</button>
      </form>
    </main>
  )
}
