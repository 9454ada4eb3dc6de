import { useState } from 'preact/hooks'
import { api, useLive, type Callback, type NumberInfo } from './api'
import { clock } from './format'

function WebhookForm({ number }: { number: NumberInfo }) {
  const [url, setUrl] = useState<string>()
  const [result, setResult] = useState<{ ok: boolean; text: string }>()
  const save = async (e: Event) => {
    e.preventDefault()
    try {
      const saved = await api<{ webhookUrl: string | null }>('PUT', `numbers/${number.id}/webhook`, { url: url ?? number.webhookUrl ?? '' })
      setResult({ ok: true, text: `Saved: ${saved.webhookUrl ?? 'no webhook'}` })
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message })
    }
  }
  return (
    <form class="inline" onSubmit={save}>
      <label class="grow">
        Webhook URL
        <input name="webhook-url" type="url" value={url ?? number.webhookUrl ?? ''} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit">Save</button>
      {result && <p role={result.ok ? 'status' : 'alert'} class={result.ok ? 'ok' : 'error'}>{result.text}</p>}
    </form>
  )
}

function Attempts({ callback, now }: { callback: Callback; now: number }) {
  return (
    <ol class="attempts">
      {callback.attempts.map((a, i) => (
        <li key={i} data-http-status={a.httpStatus ?? 'none'}>
          {clock(a.at)} · <strong>{a.httpStatus ?? 'no answer'}</strong> · {Math.round(a.latencyMs)} ms{a.error ? ` · ${a.error}` : ''}
        </li>
      ))}
      {callback.status === 'pending' && callback.attempts.length > 0 && (
        <li>next retry {callback.nextAttemptAt <= now ? 'now' : clock(callback.nextAttemptAt)}</li>
      )}
    </ol>
  )
}

/** Every callback with its attempts and payload; replay one or many, delivered ones too. */
export function WebhooksPage({ number }: { number: NumberInfo }) {
  const [deadOnly, setDeadOnly] = useState(false)
  const { data, error } = useLive(['callbacks', 'messages'],
    () => api<{ callbacks: Callback[]; now: number }>('GET', `numbers/${number.id}/callbacks${deadOnly ? '?dead=1' : ''}`), [number.id, deadOnly])
  const [picked, setPicked] = useState<number[]>([])
  const [notice, setNotice] = useState<string>()
  const replay = async (seqs: number[]) => {
    try {
      const { queued } = await api<{ queued: number }>('POST', `numbers/${number.id}/callbacks/replay`, { seqs })
      setNotice(`${queued} callback${queued === 1 ? '' : 's'} queued again`)
      setPicked([])
    } catch (err) {
      setNotice((err as Error).message)
    }
  }
  const toggle = (seq: number) => setPicked((p) => (p.includes(seq) ? p.filter((s) => s !== seq) : [...p, seq]))
  const callbacks = data?.callbacks ?? []
  return (
    <>
      {/* keyed: another number's form starts from its own URL, without this one's note */}
      <WebhookForm key={number.id} number={number} />
      <div class="toolbar">
        <label><input type="checkbox" checked={deadOnly} onChange={() => setDeadOnly(!deadOnly)} /> Dead letters only</label>
        <button type="button" disabled={picked.length === 0} onClick={() => void replay(picked)}>Replay selected ({picked.length})</button>
        {notice && <span role="status">{notice}</span>}
      </div>
      {error && <p role="alert" class="error">{error}</p>}
      <div class="table-wrap">
        <table class="callbacks">
          <caption>Callbacks of +{number.waId}, newest first</caption>
          <thead>
            <tr><th scope="col">Pick</th><th scope="col">#</th><th scope="col">Event</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Payload</th><th scope="col">Replay</th></tr>
          </thead>
          <tbody>
            {callbacks.map((c) => (
              <tr key={c.seq} data-seq={c.seq} data-state={c.status}>
                <td><input type="checkbox" aria-label={`Pick callback ${c.seq}`} checked={picked.includes(c.seq)} onChange={() => toggle(c.seq)} /></td>
                <td>{c.seq}</td>
                <td>{c.eventType}<br /><small>{clock(c.createdAt)}</small></td>
                <td><span class={`badge ${c.status === 'done' ? 'ok' : c.status === 'dead' ? 'bad' : 'wait'}`}>{c.status === 'done' ? 'delivered' : c.status}</span></td>
                <td><Attempts callback={c} now={data?.now ?? 0} /></td>
                <td><details><summary>JSON</summary><pre>{JSON.stringify(c.event, null, 2)}</pre></details></td>
                <td><button type="button" aria-label={`Replay callback ${c.seq}`} onClick={() => void replay([c.seq])}>Replay</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  )
}
