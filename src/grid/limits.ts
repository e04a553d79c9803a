// Size and time bounds of each stream protocol.
import type { RpcLimits } from '../net/rpc.js'

export const COMMIT_LIMITS: RpcLimits = { maxRequestBytes: 16 * 1024, maxResponseBytes: 16 * 1024, timeoutMs: 10_000 }
export const SETTLE_LIMITS: RpcLimits = { maxRequestBytes: 16 * 1024, maxResponseBytes: 16 * 1024, timeoutMs: 30_000 }
/** A day of 10-second readings is ~8,640 readings of ~650 bytes. */
export const TELEMETRY_LIMITS: RpcLimits = { maxRequestBytes: 1024, maxResponseBytes: 8 * 1024 * 1024, timeoutMs: 20_000 }
/** A 24-hour window of 2-s setpoints is 43,200 signals of ~420 bytes. */
export const SIGNALS_LIMITS: RpcLimits = { maxRequestBytes: 1024, maxResponseBytes: 24 * 1024 * 1024, timeoutMs: 30_000 }
/** The live signal: one small record per message, at least one every few seconds of wall time. */
export const REGULATION_LIMITS = { maxMessageBytes: 2048, idleTimeoutMs: 60_000 }
/** A profile with its accreditations. */
export const PROFILE_LIMITS: RpcLimits = { maxRequestBytes: 256, maxResponseBytes: 128 * 1024, timeoutMs: 5_000 }
export const ANSWER_LIMITS: RpcLimits = { maxRequestBytes: 16 * 1024, maxResponseBytes: 1024, timeoutMs: 10_000 }
/** A checkpoint and a consistency proof (at most 2·log2(n) hashes). */
export const CHECKPOINT_LIMITS: RpcLimits = { maxRequestBytes: 256, maxResponseBytes: 16 * 1024, timeoutMs: 10_000 }
/** Trade streams: one record each way on accept and retire; a settlement and its certificate (~4 KB each) on settle. */
export const TRADE_ACCEPT_LIMITS: RpcLimits = { maxRequestBytes: 16 * 1024, maxResponseBytes: 16 * 1024, timeoutMs: 10_000 }
export const TRADE_SETTLE_LIMITS: RpcLimits = { maxRequestBytes: 40 * 1024, maxResponseBytes: 40 * 1024, timeoutMs: 30_000 }
export const TRADE_RETIRE_LIMITS: RpcLimits = { maxRequestBytes: 16 * 1024, maxResponseBytes: 1024, timeoutMs: 10_000 }
/** A 60-minute block of 1-second readings is 3,601 readings of ~650 bytes. */
export const TRADE_READINGS_LIMITS: RpcLimits = { maxRequestBytes: 1024, maxResponseBytes: 4 * 1024 * 1024, timeoutMs: 20_000 }
