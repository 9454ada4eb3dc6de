/** The table of migration 0009-number-management. Timestamps are integer ms. */
export interface NumberManagementTable {
  phone_number_id: string
  /** Set by `POST /{phone_number_id}/deregister`, cleared by `/register`: the API refuses to send meanwhile. */
  deregistered_at: number | null
  /** GREEN | YELLOW | RED, as the network's last `phone_number_quality_update` left it. */
  quality_rating: string | null
  /** `current_limit` (TIER_250 … TIER_UNLIMITED) of the network's last `phone_number_quality_update`. */
  messaging_limit_tier: string | null
  /** When the number moved from On-Premises to Cloud with its backup. */
  migrated_at: number | null
  updated_at: number
}

export interface NumberManagementTables {
  number_management: NumberManagementTable
}
