/**
 * How long a notice to another thread or process (messages queued, callbacks committed) waits
 * for company. Each notice wakes its receiver on another core, and a receiver woken less often
 * takes bigger batches. At 600 msg/s, 5 ms instead of the next event-loop turn saved wabox 5 %
 * and the phones 13 % of their CPU per message, and messages were delivered sooner
 * (docs/benchmarks.md, seventh pass).
 */
export const NOTICE_LINGER_MS = 5
