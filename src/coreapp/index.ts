export { CoreApp, type CoreAppOptions } from './coreapp.js'
export { DEFAULT_TUNING, type CoreAppTuning } from './context.js'
export { Housekeeper, type HousekeeperOptions } from './housekeeping.js'
