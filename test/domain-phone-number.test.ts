import { describe, expect, it } from 'vitest'
import { normalizeContactInput } from '../src/domain/contact-input.js'
import { normalizePhone } from '../src/domain/phone-number.js'

describe('normalizePhone, the one phone-number normaliser', () => {
  it('reads the common formats as the digits, country code included', () => {
    expect(normalizePhone('+1 (631) 555-1004')).toBe('16315551004')
    expect(normalizePhone('1-631-555-1004')).toBe('16315551004')
    expect(normalizePhone(' 44.20.7946.0000 ')).toBe('442079460000')
    expect(normalizePhone('16315551004')).toBe('16315551004')
  })

  it('refuses what is no phone number: letters, a "+" inside, too few or too many digits', () => {
    expect(normalizePhone('call me')).toBeUndefined()
    expect(normalizePhone('1+6315551004')).toBeUndefined()
    expect(normalizePhone('++16315551004')).toBeUndefined()
    expect(normalizePhone('1234')).toBeUndefined()
    expect(normalizePhone('1234567890123456')).toBeUndefined()
    expect(normalizePhone('')).toBeUndefined()
  })

  it('takes a higher floor where a country code and subscriber number are required (contacts check)', () => {
    expect(normalizePhone('1631555', 8)).toBeUndefined()
    expect(normalizePhone('16315551', 8)).toBe('16315551')
    expect(normalizeContactInput('+163155')).toBeNull()
    expect(normalizeContactInput('+1 (631) 555-1004')).toBe('16315551004')
  })
})
