import { useState } from 'preact/hooks'
import type { TemplateDefinition } from '../../src/domain/templates'
import { api, useLive, type NumberInfo } from './api'
import { templateVariables } from './format'

const CATEGORIES = ['UTILITY', 'MARKETING', 'AUTHENTICATION'] as const
const ACTIONS = [
  { action: 'approve', label: 'Approve', when: ['PENDING', 'REJECTED'] },
  { action: 'reject', label: 'Reject', when: ['PENDING'] },
  { action: 'pause', label: 'Pause', when: ['APPROVED'] },
  { action: 'unpause', label: 'Unpause', when: ['PAUSED'] },
  { action: 'disable', label: 'Disable', when: ['APPROVED', 'PAUSED'] },
] as const

/** Meta's example values of a body's variables: `body_text` for {{1}}…, `body_text_named_params` for {{name}}. */
function bodyExample(keys: string[], samples: Record<string, string>) {
  if (keys.length === 0) return {}
  const positional = keys.every((k) => /^\d+$/.test(k))
  return positional
    ? { example: { body_text: [keys.map((k) => samples[k] ?? '')] } }
    : { example: { body_text_named_params: keys.map((k) => ({ param_name: k, example: samples[k] ?? '' })) } }
}

function NewTemplate({ number, onCreated }: { number: NumberInfo; onCreated: () => void }) {
  const [name, setName] = useState('')
  const [language, setLanguage] = useState('en_US')
  const [category, setCategory] = useState<string>('UTILITY')
  const [body, setBody] = useState('')
  const [samples, setSamples] = useState<Record<string, string>>({})
  const [result, setResult] = useState<{ ok: boolean; text: string }>()
  const keys = templateVariables(body)
  const named = keys.some((k) => !/^\d+$/.test(k))
  const submit = async (e: Event) => {
    e.preventDefault()
    try {
      const bodyComponent = { type: 'BODY', text: body, ...bodyExample(keys, samples) }
      const t = await api<TemplateDefinition>('POST', `numbers/${number.id}/templates`, {
        name, language, category, ...(named ? { parameter_format: 'NAMED' } : {}), components: [bodyComponent],
      })
      setResult({ ok: true, text: `Submitted ${t.name}: ${t.status}` })
      onCreated()
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message })
    }
  }
  const field = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value)
  return (
    <form class="inline" onSubmit={submit} aria-label="New template">
      <label>Name<input name="template-name" required pattern="[a-z0-9_]+" value={name} onInput={field(setName)} /></label>
      <label>Language<input name="template-language" required value={language} onInput={field(setLanguage)} /></label>
      <label>Category
        <select value={category} onChange={field(setCategory)}>{CATEGORIES.map((c) => <option key={c}>{c}</option>)}</select>
      </label>
      <label class="grow">Body<input name="template-body" required value={body} placeholder="Your order {{1}} is ready for pickup" onInput={field(setBody)} /></label>
      {/* Meta's review needs a sample value for each variable */}
      {keys.map((k) => (
        <label key={k}>{`Example for {{${k}}}`}
          <input name={`template-example-${k}`} required value={samples[k] ?? ''} onInput={(e) => setSamples({ ...samples, [k]: (e.target as HTMLInputElement).value })} />
        </label>
      ))}
      <button type="submit">Submit for review</button>
      {result && <p role={result.ok ? 'status' : 'alert'} class={result.ok ? 'ok' : 'error'}>{result.text}</p>}
    </form>
  )
}

/** The WABA's templates with status and quality; create one; in the dev profile, review them as Meta would. */
export function TemplatesPage({ number }: { number: NumberInfo }) {
  const { data, error, reload } = useLive([], () => api<{ templates: TemplateDefinition[]; review: boolean }>('GET', `numbers/${number.id}/templates`), [number.id])
  const [notice, setNotice] = useState<string>()
  const review = (id: string, action: string) => void api('POST', `templates/${id}/${action}`, {}).then(reload, (err: Error) => setNotice(err.message))
  return (
    <>
      <NewTemplate number={number} onCreated={reload} />
      {(error || notice) && <p role="alert" class="error">{error ?? notice}</p>}
      <div class="table-wrap">
        <table>
          <caption>Message templates of the number's WhatsApp Business Account</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Language</th><th scope="col">Category</th><th scope="col">Status</th><th scope="col">Quality</th><th scope="col">Body</th>{data?.review && <th scope="col">Review</th>}</tr></thead>
          <tbody>
            {(data?.templates ?? []).map((t) => (
              <tr key={t.id ?? `${t.name}/${t.language}`} data-template={t.name}>
                <th scope="row">{t.name}</th>
                <td>{t.language}</td>
                <td>{t.category}</td>
                <td data-status={t.status}>{t.status}{t.reason ? ` (${t.reason})` : ''}</td>
                <td>{t.quality ?? 'UNKNOWN'}</td>
                <td>{t.components.find((c) => c.type === 'BODY')?.text}</td>
                {data?.review && (
                  <td class="actions">
                    {t.id && ACTIONS.filter((a) => (a.when as readonly string[]).includes(t.status)).map((a) => (
                      <button key={a.action} type="button" aria-label={`${a.label} ${t.name}`} onClick={() => review(t.id!, a.action)}>{a.label}</button>
                    ))}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  )
}
