package org.smartpos.sdk

import org.smartpos.core.formatAmount
import org.smartpos.core.parseAmount

/**
 * Kotlin's one money type: an amount in minor units (`ULong`) with its ISO 4217 currency code,
 * generated from the Rust core (`org.smartpos.core.Money`) and named here for the facade.
 * Never a float; results carry the same type.
 *
 * ```kotlin
 * val price = Money.parse("12.34", "CNY")
 * check(price.minor == 1234uL)
 * check(price.display() == "CNY 12.34")
 * ```
 */
typealias Money = org.smartpos.core.Money

/**
 * Parses a decimal major-unit amount exactly, e.g. `Money.parse("12.34", "CNY")`.
 * @throws org.smartpos.core.SmartposException.InvalidAmount when malformed, zero or too large.
 * @throws org.smartpos.core.SmartposException.UnsupportedCurrency for an unknown currency.
 */
fun org.smartpos.core.Money.Companion.parse(text: String, currency: String): org.smartpos.core.Money =
    parseAmount(text, currency)

/** Display form, e.g. `CNY 12.34`, formatted by the core. */
fun org.smartpos.core.Money.display(): String = formatAmount(this)
