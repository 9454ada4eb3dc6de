import { useEffect, useRef, useState } from 'preact/hooks'
import { normalizePhone } from '../../src/domain/phone-number'
import { api, useLive, type Conversation, type Message, type NumberInfo } from './api'
import { clock, failure, summary } from './format'
import { TemplateSender } from './template-sender'
import { Ticks } from './ticks'

const PICTURES = ['image', 'sticker']

/** A picture the number sent or received, from its media volume (a `link` is not fetched: only this origin's images load). */
function MediaThumb({ number, type, content }: { number: NumberInfo; type: string; content: unknown }) {
  const id = (content as Record<string, { id?: unknown } | undefined> | null)?.[type]?.id
  if (!PICTURES.includes(type) || typeof id !== 'string') return null
  return <img class="thumb" loading="lazy" alt={`${type} ${id}`} src={`/hub/api/numbers/${number.id}/media/${encodeURIComponent(id)}`} />
}

function Thread({ number, peer }: { number: NumberInfo; peer: string }) {
  const { data, error } = useLive(['messages'], () => api<{ messages: Message[] }>('GET', `numbers/${number.id}/conversations/${peer}`), [number.id, peer])
  const [text, setText] = useState('')
  const [sendError, setSendError] = useState<string>()
  const end = useRef<HTMLLIElement>(null)
  const messages = data?.messages ?? []
  useEffect(() => end.current?.scrollIntoView({ block: 'end' }), [messages.length])

  const send = async (e: Event) => {
    e.preventDefault()
    if (!text.trim()) return setSendError('Write a message first: a blank one is not sent.')
    try {
      await api('POST', `numbers/${number.id}/messages`, { to: peer, text })
      setText('')
      setSendError(undefined)
    } catch (err) {
      setSendError((err as Error).message)
    }
  }
  const markRead = (id: string) => void api('POST', `numbers/${number.id}/read`, { messageId: id }).catch((err: Error) => setSendError(err.message))

  return (
    <section class="thread" aria-label={`Chat with +${peer}`}>
      <h2>+{peer}</h2>
      {error && <p role="alert" class="error">{error}</p>}
      <ol class="bubbles" aria-live="polite">
        {messages.map((m) => (
          <li key={m.id} class={`bubble ${m.direction}`} data-message-id={m.id} data-direction={m.direction}>
            <MediaThumb number={number} type={m.type} content={m.content} />
            <span class="body">{summary(m.type, m.content)}</span>
            <span class="meta">
              {clock(m.createdAt)}{' '}
              {m.direction === 'out'
                ? <Ticks status={m.status} statuses={m.statuses} error={m.error} />
                : m.status !== 'read' && <button type="button" class="link" onClick={() => markRead(m.id)}>Mark read</button>}
            </span>
            {m.error && <span class="error">{failure(m.error)}</span>}
          </li>
        ))}
        <li ref={end} class="end" aria-hidden="true" />
      </ol>
      <form class="composer" onSubmit={send}>
        <label class="grow">
          <span class="visually-hidden">Message to +{peer}</span>
          <input name="message" placeholder="Reply as the business" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">Send</button>
      </form>
      {sendError && <p role="alert" class="error">{sendError}</p>}
      <TemplateSender number={number} peer={peer} />
    </section>
  )
}

/** The chats of a number, live, and one chat as WhatsApp shows it. */
export function ConversationsPage({ number }: { number: NumberInfo }) {
  const { data, error } = useLive(['messages'], () => api<{ conversations: Conversation[] }>('GET', `numbers/${number.id}/conversations`), [number.id])
  const [peer, setPeer] = useState<string>()
  const [newPeer, setNewPeer] = useState('')
  const [newPeerError, setNewPeerError] = useState<string>()
  const openNew = (e: Event) => {
    e.preventDefault()
    // what the API accepts as `to`: 5 to 15 digits, formatting allowed
    const waId = normalizePhone(newPeer)
    if (!waId) return setNewPeerError(`Not a phone number or wa_id: ${newPeer.trim() ? `"${newPeer.trim()}"` : 'nothing entered'} (5 to 15 digits; "+", spaces, dashes and parentheses allowed)`)
    setNewPeerError(undefined)
    setPeer(waId)
    setNewPeer('')
  }
  const chats = data?.conversations ?? []
  const open = peer ?? chats[0]?.peer
  return (
    <div class="split">
      <section aria-label="Chats" class="chats">
        {error && <p role="alert" class="error">{error}</p>}
        <ul>
          {chats.map((c) => (
            <li key={c.peer}>
              <button type="button" class={`chat ${c.peer === open ? 'current' : ''}`} aria-pressed={c.peer === open} onClick={() => setPeer(c.peer)}>
                <strong>{c.profileName ? `${c.profileName} ` : ''}+{c.peer}</strong> <small>{clock(c.lastAt)}</small>
                <br /><span class="preview">{c.last.direction === 'out' ? 'You: ' : ''}{c.last.preview}</span>
              </button>
            </li>
          ))}
        </ul>
        <form onSubmit={openNew}>
          <label>
            New chat with
            <input name="new-chat" inputMode="tel" placeholder="wa_id" value={newPeer} onInput={(e) => setNewPeer((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit">Open</button>
        </form>
        {newPeerError && <p role="alert" class="error">{newPeerError}</p>}
      </section>
      {open ? <Thread number={number} peer={open} /> : data && <p>No chats yet: send a message from a phone, or start one.</p>}
    </div>
  )
}
