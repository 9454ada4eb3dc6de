export {
  CATALOGUE,
  CloudCode,
  GraphSubcode,
  OnPremCode,
  WebhookCode,
  catalogueEntry,
  cloudEntry,
  isKnownCode,
  onPremEntry,
  toCloudCode,
  toOnPremCode,
  type CatalogueEntry,
  type CloudCodeValue,
  type Dialect,
  type ErrorContext,
  type KnownCode,
  type OnPremClientCodeValue,
  type OnPremCodeValue,
  type WebhookCodeValue,
} from './catalogue.js'
export { WaboxError, asWaboxError, type WaboxErrorOptions } from './wabox-error.js'
export { DatabaseUnavailableError, isDatabaseUnavailable } from './database-unavailable.js'
export { invalid, missing, notAllowed, unexpectedKey } from './field-errors.js'
export {
  cloudWebhookErrorObject,
  renderCloud,
  renderOnPrem,
  webhookError,
  type CloudErrorBody,
  type CloudWebhookError,
  type OnPremErrorBody,
  type OnPremErrorObject,
  type WebhookErrorPair,
} from './render.js'
