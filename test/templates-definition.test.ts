import { describe, expect, it } from 'vitest'
import { checkTemplateDefinition, checkTemplateEdit } from '../src/domain/template-definition.js'
import { DEFAULT_TEMPLATE_QUALITY_RULES, pauseStep, templateQuality } from '../src/domain/template-quality.js'

const base = { name: 'order_update', language: 'en', category: 'UTILITY' }

describe("Meta's template rules", () => {
  it('accepts named variables with their samples, media headers with a handle, and each kind of button', () => {
    const checked = checkTemplateDefinition({
      ...base, category: 'marketing', parameter_format: 'named',
      components: [
        { type: 'header', format: 'image', example: { header_handle: ['4::aW1hZ2U='] } },
        { type: 'body', text: 'Hi {{first_name}}, {{deal}} ends today.', example: { body_text_named_params: [{ param_name: 'first_name', example: 'Ann' }, { param_name: 'deal', example: '20% off' }] } },
        { type: 'buttons', buttons: [
          { type: 'quick_reply', text: 'Stop' },
          { type: 'phone_number', text: 'Call us', phone_number: '+15550001234' },
          { type: 'copy_code', example: 'SAVE20' },
          { type: 'url', text: 'Shop', url: 'https://shop.test/{{1}}', example: ['https://shop.test/deal'] },
        ] },
      ],
    })
    expect(checked.ok).toBe(true)
    if (!checked.ok) return
    expect(checked.value).toMatchObject({ category: 'MARKETING', parameterFormat: 'NAMED' })
    expect(checked.value.components.map((c) => c.type)).toEqual(['HEADER', 'BODY', 'BUTTONS'])
    expect(checked.value.components[2]!.buttons!.map((b) => b.type)).toEqual(['QUICK_REPLY', 'PHONE_NUMBER', 'COPY_CODE', 'URL'])
  })

  it.each([
    ['a media header without a sample handle', [{ type: 'HEADER', format: 'VIDEO' }, { type: 'BODY', text: 'Hi' }], 'components[0].example.header_handle'],
    ['a header variable without its sample', [{ type: 'HEADER', format: 'TEXT', text: 'Hi {{1}}' }, { type: 'BODY', text: 'Hi' }], 'components[0].example.header_text'],
    ['two header variables', [{ type: 'HEADER', format: 'TEXT', text: '{{1}} {{2}}', example: { header_text: ['a'] } }, { type: 'BODY', text: 'Hi' }], 'components[0].text'],
    ['a footer variable', [{ type: 'BODY', text: 'Hi' }, { type: 'FOOTER', text: 'Bye {{1}}' }], 'components[1].text'],
    ['a named variable in a positional template', [{ type: 'BODY', text: 'Hi {{name}} ok' }], 'components[0].text'],
    ['a URL variable in the middle', [{ type: 'BODY', text: 'Hi' }, { type: 'BUTTONS', buttons: [{ type: 'URL', text: 'Go', url: 'https://a.test/{{1}}/x', example: ['https://a.test/1/x'] }] }], 'components[1].buttons[0].url'],
    ['a button label over 25 characters', [{ type: 'BODY', text: 'Hi' }, { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'x'.repeat(26) }] }], 'components[1].buttons[0].text'],
  ])('refuses %s', (_what, components, field) => {
    expect(checkTemplateDefinition({ ...base, components })).toMatchObject({ ok: false, field })
  })

  it('writes the body of an authentication template itself and wants an OTP button there', () => {
    expect(checkTemplateDefinition({ ...base, category: 'AUTHENTICATION', components: [{ type: 'BODY' }] })).toMatchObject({ ok: false, field: 'components' })
    const ok = checkTemplateDefinition({ ...base, category: 'AUTHENTICATION', components: [{ type: 'BODY' }, { type: 'BUTTONS', buttons: [{ type: 'OTP', otp_type: 'ONE_TAP' }] }] })
    expect(ok.ok && ok.value.components[0]).toEqual({ type: 'BODY', text: '{{1}} is your verification code.' })
  })

  it('checks an edit against the template it changes', () => {
    expect(checkTemplateEdit({}, { category: 'UTILITY', parameterFormat: 'POSITIONAL' })).toMatchObject({ ok: false, field: 'components' })
    expect(checkTemplateEdit({ category: 'marketing' }, { category: 'UTILITY', parameterFormat: 'POSITIONAL' })).toEqual({ ok: true, value: { category: 'MARKETING' } })
    expect(checkTemplateEdit({ components: [{ type: 'BODY', text: 'Hi {{who}} there', example: { body_text_named_params: [{ param_name: 'who', example: 'Ann' }] } }] },
      { category: 'UTILITY', parameterFormat: 'NAMED' })).toMatchObject({ ok: true })
  })
})

describe('template quality and the pause ladder', () => {
  const rules = DEFAULT_TEMPLATE_QUALITY_RULES
  it('is UNKNOWN until enough messages, then GREEN, YELLOW, RED by blocks and reports', () => {
    expect(templateQuality({ sends: rules.minSends - 1, negatives: 9 }, rules)).toBe('UNKNOWN')
    expect(templateQuality({ sends: rules.minSends, negatives: rules.yellowAt - 1 }, rules)).toBe('GREEN')
    expect(templateQuality({ sends: rules.minSends, negatives: rules.yellowAt }, rules)).toBe('YELLOW')
    expect(templateQuality({ sends: rules.minSends, negatives: rules.redAt }, rules)).toBe('RED')
  })

  it('pauses 3 h, then 6 h, then disables', () => {
    expect(pauseStep(0, rules)).toMatchObject({ kind: 'pause', ms: 3 * 3_600_000, title: 'FIRST_PAUSE' })
    expect(pauseStep(1, rules)).toMatchObject({ kind: 'pause', ms: 6 * 3_600_000, title: 'SECOND_PAUSE' })
    expect(pauseStep(2, rules)).toEqual({ kind: 'disable' })
  })
})
