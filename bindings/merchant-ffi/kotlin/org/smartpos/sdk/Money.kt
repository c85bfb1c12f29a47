package org.smartpos.sdk

import org.smartpos.core.Amount
import org.smartpos.core.SmartposException
import org.smartpos.core.formatAmount
import org.smartpos.core.parseAmount

/**
 * An amount in minor units with its currency: the idiomatic Kotlin face of the core's money.
 * Never a float.
 *
 * ```kotlin
 * val price = Money.parse("12.34", "CNY")
 * check(price.minor == 1234L)
 * check(price.toString() == "CNY 12.34")
 * ```
 */
data class Money(val minor: Long, val currency: String) {
    init {
        require(minor > 0) { "amount must be greater than zero" }
    }

    /** Display form, e.g. `CNY 12.34`, formatted by the core. */
    override fun toString(): String = formatAmount(Amount(minor.toULong(), currency))

    companion object {
        /**
         * Parses a decimal major-unit amount exactly.
         * @throws SmartposException.InvalidAmount when malformed, zero or too large.
         */
        fun parse(text: String, currency: String): Money {
            val a = parseAmount(text, currency)
            return Money(a.minor.toLong(), a.currency)
        }
    }
}
