package org.smartpos.android

import org.smartpos.core.PaymentOutcome
import org.smartpos.core.PaymentStatus

/**
 * What became of a payment request, decided only from a result verified with the terminal's key.
 *
 * ```kotlin
 * when (val r = payments.onActivityResult(requestCode, resultCode, data)) {
 *     is PaymentResult.Approved -> deliver(r.outcome.reference)
 *     is PaymentResult.Declined -> showNotCharged(r.outcome.message)
 *     is PaymentResult.Unknown, is PaymentResult.NoAnswer -> showPending(r.order) // query later, never charge again
 *     is PaymentResult.Refused, is PaymentResult.Error -> showNotCharged(r.order)
 *     null -> super.onActivityResult(requestCode, resultCode, data)
 * }
 * ```
 */
sealed interface PaymentResult {
    /** The merchant's order id the result is about. */
    val order: String

    /** Charged (or, for a void or refund, done): keep `outcome.reference` for refunds and reconciliation. */
    data class Approved(val outcome: PaymentOutcome) : PaymentResult {
        override val order get() = outcome.order
    }

    /** Definitely not charged (the bank, the card or the customer said no, or it was cancelled). */
    data class Declined(val outcome: PaymentOutcome) : PaymentResult {
        override val order get() = outcome.order
    }

    /**
     * Not known yet: the terminal is resolving it (a reversal or a query is pending). Never a
     * failure: do not hand over the goods and do not charge again; [SmartposPayments.query]
     * the order later.
     */
    data class Unknown(override val order: String, val outcome: PaymentOutcome?) : PaymentResult

    /** The terminal refused the request before any money moved (caller, permission, replay, busy, order reused). */
    data class Refused(val outcome: PaymentOutcome) : PaymentResult {
        override val order get() = outcome.order
    }

    /** The request was malformed or unsupported, or the terminal could not run it: nothing was charged. */
    data class Error(val outcome: PaymentOutcome) : PaymentResult {
        override val order get() = outcome.order
    }

    /**
     * The acquiring app closed without a result (it was killed, or the customer left before the
     * request was taken), or its result could not be verified ([reason]). Treat as [Unknown]:
     * query the order.
     */
    data class NoAnswer(override val order: String, val reason: String) : PaymentResult

    companion object {
        /** The result for a verified outcome. */
        fun of(outcome: PaymentOutcome): PaymentResult = when (outcome.status) {
            PaymentStatus.APPROVED -> Approved(outcome)
            PaymentStatus.DECLINED -> Declined(outcome)
            PaymentStatus.UNKNOWN -> Unknown(outcome.order, outcome)
            PaymentStatus.REFUSED -> Refused(outcome)
            PaymentStatus.ERROR -> Error(outcome)
        }
    }
}
