import { useState } from 'preact/hooks'
import { api, useLive, type NumberInfo, type PhoneInfo, type PhoneMessage } from './api'
import { clock, summary } from './format'
import { Ticks } from './ticks'

/** The phone's side of its chat with a business: what the phone decrypted, and its own messages' ticks. */
function PhoneChat({ phone, business }: { phone: PhoneInfo; business: string }) {
  const { data, error } = useLive(['phones', 'messages'], () => api<{ messages: PhoneMessage[] }>('GET', `phones/${phone.waId}/chat?business=${business}`), [phone.waId, business])
  const [text, setText] = useState('')
  const [sendError, setSendError] = useState<string>()
  const send = async (e: Event) => {
    e.preventDefault()
    if (!text.trim()) return setSendError('Write a message first: a blank one is not sent.')
    try {
      await api('POST', `phones/${phone.waId}/send`, { type: 'text', to: business, text })
      setText('')
      setSendError(undefined)
    } catch (err) {
      setSendError((err as Error).message)
    }
  }
  const react = (id: string) => void api('POST', `phones/${phone.waId}/send`, { type: 'reaction', to: business, messageId: id, emoji: '👍' })
    .catch((err: Error) => setSendError(err.message))
  return (
    <section class="thread phone" aria-label={`Phone +${phone.waId}, chat with +${business}`}>
      <h2>Phone +{phone.waId} ↔ +{business}</h2>
      <p class="note">End-to-end encrypted: the text here was decrypted on the phone. The network relayed only ciphertext: its size is all it saw.</p>
      {error && <p role="alert" class="error">{error}</p>}
      <ol class="bubbles inbox" aria-live="polite">
        {(data?.messages ?? []).map((m) => (
          <li key={m.id} class={`bubble ${m.direction === 'out' ? 'out' : 'in'}`} data-direction={m.direction}>
            <span class="body">{m.content ? summary(String((m.content as { type?: string }).type), m.content) : m.error ?? '[not readable]'}</span>
            <span class="meta">
              <span class="envelope" title="Size of the encrypted envelope the network relayed">
                {m.envelopeBytes === null ? 'envelope size not seen' : `${m.envelopeBytes} B on the wire`}
              </span>{' · '}
              {clock(m.at)}{' '}
              {m.direction === 'out' ? <Ticks status={m.status} statuses={[]} error={m.error} />
                : <button type="button" class="link" aria-label="React with a thumbs up" onClick={() => react(m.id)}>👍</button>}
            </span>
          </li>
        ))}
      </ol>
      <form class="composer" onSubmit={send}>
        <label class="grow">
          <span class="visually-hidden">Message as the customer</span>
          <input name="phone-message" placeholder="Write as the customer" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">Send as customer</button>
      </form>
      {sendError && <p role="alert" class="error">{sendError}</p>}
    </section>
  )
}

/** The simulated phones: create, offline/online, block/report, and chat as the customer. */
export function PhonesPage({ numbers, available }: { numbers: NumberInfo[]; available: boolean }) {
  const { data, error, reload } = useLive(['phones'], () => (available ? api<{ phones: PhoneInfo[] }>('GET', 'phones') : Promise.resolve({ phones: [] })), [available])
  const [selected, setSelected] = useState<string>()
  const [business, setBusiness] = useState<string>()
  const [actionError, setActionError] = useState<string>()
  const [done, setDone] = useState<string>()
  if (!available) return <p>The phones of this deployment run in another process: use its control API (docs/phones.md).</p>
  const phones = data?.phones ?? []
  const phone = phones.find((p) => p.waId === selected) ?? phones[0]
  const biz = business ?? numbers[0]?.waId
  // `said`: what the page says once it is done (block and report change nothing else on the page)
  const act = (path: string, body?: unknown, said?: string) => {
    setDone(undefined)
    setActionError(undefined)
    void api('POST', path, body).then(() => (reload(), said && setDone(said)), (err: Error) => setActionError(err.message))
  }

  return (
    <div class="split">
      <section aria-label="Phones" class="chats">
        {error && <p role="alert" class="error">{error}</p>}
        {actionError && <p role="alert" class="error">{actionError}</p>}
        {done && <p role="status" class="ok">{done}</p>}
        <label>
          Business
          <select value={biz} onChange={(e) => setBusiness((e.target as HTMLSelectElement).value)}>
            {numbers.map((n) => <option key={n.id} value={n.waId}>{`${n.displayName} (+${n.waId})`}</option>)}
          </select>
        </label>
        <ul>
          {phones.map((p) => (
            <li key={p.waId} class="phone-row" data-phone={p.waId}>
              <button type="button" class={`chat ${p === phone ? 'current' : ''}`} aria-pressed={p === phone} onClick={() => setSelected(p.waId)}>
                <strong>{p.profileName}</strong> +{p.waId}<br />
                <small>{p.online ? 'online' : 'offline'} · {p.inbox.unread} unread of {p.inbox.total}{biz && p.blocked.includes(biz) ? ' · blocked' : ''}</small>
              </button>
              <span class="actions">
                <button type="button" onClick={() => act(`phones/${p.waId}/${p.online ? 'offline' : 'online'}`)}>{p.online ? 'Take offline' : 'Bring online'}</button>
                {biz && p.blocked.includes(biz)
                  ? <button type="button" aria-label={`Unblock +${biz} on +${p.waId}`} onClick={() => act(`phones/${p.waId}/unblock`, { business: biz }, `+${p.waId} unblocked +${biz}`)}>Unblock</button>
                  : <button type="button" aria-label={`Block +${biz ?? ''} on +${p.waId}`} onClick={() => biz && act(`phones/${p.waId}/block`, { business: biz }, `+${p.waId} blocked +${biz}`)}>Block</button>}
                <button type="button" aria-label={`Report +${biz ?? ''} on +${p.waId}`} onClick={() => biz && act(`phones/${p.waId}/report`, { business: biz }, `+${p.waId} reported +${biz}`)}>Report</button>
              </span>
            </li>
          ))}
        </ul>
        <button type="button" onClick={() => act('phones', { count: 1 })}>New phone</button>
      </section>
      {phone && biz ? <PhoneChat phone={phone} business={biz} /> : data && <p>No phones yet.</p>}
    </div>
  )
}
