import { useState } from 'preact/hooks'
import type { TemplateDefinition } from '../../src/domain/templates'
import { api, useLive, type NumberInfo } from './api'
import { templateVariables } from './format'

const keyOf = (t: TemplateDefinition) => `${t.name}/${t.language}`

/** The variables the page can fill: a text header's and the body's; null when it needs a medium or a button value. */
function fillable(t: TemplateDefinition): { part: 'header' | 'body'; keys: string[] }[] | null {
  const header = t.components.find((c) => c.type === 'HEADER')
  if (header && (header.format ?? 'TEXT') !== 'TEXT') return null
  if (t.components.some((c) => c.buttons?.some((b) => b.url?.includes('{{')))) return null
  const body = t.components.find((c) => c.type === 'BODY')
  return [{ part: 'header' as const, keys: templateVariables(header?.text) }, { part: 'body' as const, keys: templateVariables(body?.text) }]
    .filter((p) => p.keys.length > 0)
}

/** One `text` parameter per variable, named ones with their `parameter_name`. */
function components(parts: { part: string; keys: string[] }[], values: Record<string, string>) {
  return parts.map(({ part, keys }) => ({
    type: part,
    parameters: keys.map((k) => ({ type: 'text', text: values[`${part}:${k}`]!.trim(), ...(/^\d+$/.test(k) ? {} : { parameter_name: k }) })),
  }))
}

/** Sends an approved template of the number's WABA, a field for each of its variables. */
export function TemplateSender({ number, peer }: { number: NumberInfo; peer: string }) {
  const { data } = useLive([], () => api<{ templates: TemplateDefinition[] }>('GET', `numbers/${number.id}/templates`), [number.id])
  const approved = (data?.templates ?? []).filter((t) => t.status === 'APPROVED')
  const [picked, setPicked] = useState('')
  const [values, setValues] = useState<Record<string, string>>({})
  const [result, setResult] = useState<{ ok: boolean; text: string }>()
  // the select shows the first template until one is picked: the one Send sends
  const t = approved.find((x) => keyOf(x) === picked) ?? approved[0]
  const parts = t ? fillable(t) : []
  const send = async (e: Event) => {
    e.preventDefault()
    if (!t) return
    if (parts === null) return setResult({ ok: false, text: `${t.name} needs a media header or a button value: send it through the On-Prem or Cloud API` })
    const blank = parts.flatMap(({ part, keys }) => keys.filter((k) => !values[`${part}:${k}`]?.trim()).map((k) => `{{${k}}} in the ${part}`))
    if (blank.length > 0) return setResult({ ok: false, text: `Not sent: fill ${blank.join(', ')}` })
    try {
      const template = { name: t.name, language: { policy: 'deterministic', code: t.language }, components: components(parts, values) }
      await api('POST', `numbers/${number.id}/messages`, { message: { to: peer, type: 'template', template } })
      setResult({ ok: true, text: `Sent ${t.name}` })
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message })
    }
  }
  if (approved.length === 0) return null
  const pick = (key: string) => {
    setPicked(key)
    setValues({})
    setResult(undefined)
  }
  return (
    <details class="template-sender">
      <summary>Send a template</summary>
      <form class="composer" onSubmit={send}>
        <label>Template
          <select value={t ? keyOf(t) : ''} onChange={(e) => pick((e.target as HTMLSelectElement).value)}>
            {approved.map((x) => <option key={keyOf(x)} value={keyOf(x)}>{`${x.name} (${x.language})`}</option>)}
          </select>
        </label>
        {(parts ?? []).flatMap(({ part, keys }) => keys.map((k) => (
          <label key={`${part}:${k}`} class="grow">{`${part === 'header' ? 'Header' : 'Body'} {{${k}}}`}
            <input name={`template-${part}-${k}`} value={values[`${part}:${k}`] ?? ''}
              onInput={(e) => setValues({ ...values, [`${part}:${k}`]: (e.target as HTMLInputElement).value })} />
          </label>
        )))}
        <button type="submit">Send template</button>
      </form>
      {result && <p role={result.ok ? 'status' : 'alert'} class={result.ok ? 'ok' : 'error'}>{result.text}</p>}
    </details>
  )
}
