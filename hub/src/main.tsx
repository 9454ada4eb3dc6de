import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { api, disconnect, useLive, useOffline, whenSignedOut, type NumberInfo } from './api'
import { ChartsPage } from './charts'
import { ConversationsPage } from './conversations'
import { Login } from './login'
import { NumbersPage } from './numbers'
import { PhonesPage } from './phones'
import { TemplatesPage } from './templates'
import './styles.css'
import { WebhooksPage } from './webhooks'

const PAGES = [
  { id: 'numbers', title: 'Numbers' },
  { id: 'conversations', title: 'Conversations' },
  { id: 'phones', title: 'Phones' },
  { id: 'webhooks', title: 'Webhooks' },
  { id: 'templates', title: 'Templates' },
  { id: 'charts', title: 'Live charts' },
] as const
type PageId = (typeof PAGES)[number]['id']

function currentPage(): PageId {
  const id = location.hash.replace(/^#\/?/, '').split('/')[0]
  return PAGES.find((p) => p.id === id)?.id ?? 'numbers'
}

/** The signed-in console: navigation, the number being looked at, and the page. */
function Console({ username, onSignOut }: { username: string; onSignOut: () => void }) {
  const [page, setPage] = useState<PageId>(currentPage())
  const [numberId, setNumberId] = useState<string>()
  const { data } = useLive(['callbacks', 'messages'], () => api<{ numbers: NumberInfo[]; phonesAvailable: boolean }>('GET', 'numbers'))
  const offline = useOffline()
  useEffect(() => {
    const onHash = () => setPage(currentPage())
    addEventListener('hashchange', onHash)
    return () => removeEventListener('hashchange', onHash)
  }, [])
  const numbers = data?.numbers ?? []
  const number = numbers.find((n) => n.id === numberId) ?? numbers[0]
  const title = PAGES.find((p) => p.id === page)!.title
  useEffect(() => void (document.title = `${title} · wabox Hub`), [title])

  return (
    <div class="shell">
      <header>
        <strong class="brand">wabox Hub</strong>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a key={p.id} href={`#/${p.id}`} aria-current={p.id === page ? 'page' : undefined}>{p.title}</a>
          ))}
        </nav>
        <label class="number-pick">
          Number
          <select value={number?.id ?? ''} onChange={(e) => setNumberId((e.target as HTMLSelectElement).value)}>
            {numbers.map((n) => <option key={n.id} value={n.id}>{`${n.displayName} (+${n.waId})`}</option>)}
          </select>
        </label>
        <button type="button" class="link" onClick={onSignOut}>Sign out {username}</button>
      </header>
      <main>
        <h1>{title}</h1>
        {offline && <p role="alert" class="offline">wabox is not answering: offline, retrying. What is shown may be out of date.</p>}
        {!data && !offline && <p class="loading">Loading…</p>}
        {page === 'numbers' && <NumbersPage numbers={numbers} />}
        {page === 'conversations' && number && <ConversationsPage number={number} />}
        {page === 'phones' && data && <PhonesPage numbers={numbers} available={data.phonesAvailable} />}
        {page === 'webhooks' && number && <WebhooksPage number={number} />}
        {page === 'templates' && number && <TemplatesPage number={number} />}
        {page === 'charts' && <ChartsPage />}
      </main>
    </div>
  )
}

function App() {
  const [user, setUser] = useState<string | null>()
  const [notice, setNotice] = useState<string>()
  useEffect(() => {
    // any 401 of the Hub API: the session ended elsewhere (another tab signed out, expired), so sign in again
    whenSignedOut(() => {
      disconnect()
      setNotice('Your session has ended (signed out in another tab, or expired): sign in again.')
      setUser(null)
    })
    api<{ username: string }>('GET', 'session').then((s) => setUser(s.username), () => setUser(null))
  }, [])
  if (user === undefined) return <p class="loading">Loading…</p>
  if (user === null) return <Login notice={notice} onSignedIn={(u) => (setNotice(undefined), setUser(u))} />
  const signOut = () => {
    disconnect()
    void api('DELETE', 'session').finally(() => setUser(null))
  }
  return <Console username={user} onSignOut={signOut} />
}

render(<App />, document.getElementById('app')!)
