package org.smartpos.core

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.smartpos.sdk.Money

/** Calls the Rust core through the generated bindings, the way a merchant app on the terminal would. */
class BindingsTest {
    @Test
    fun parsesAmountsExactlyThroughTheCore() {
        assertEquals(Amount(1234uL, "CNY"), parseAmount("12.34", "CNY"))
        assertEquals(1L, Money.parse("0.01", "CNY").minor)
        assertEquals("CNY 12.34", Money.parse("12.34", "CNY").toString())
    }

    @Test
    fun typedErrorsCrossTheBoundary() {
        val e = assertThrows<SmartposException.InvalidAmount> { parseAmount("1.234", "CNY") }
        assertFalse(e.reason.isEmpty())
        assertThrows<SmartposException.UnsupportedCurrency> { parseAmount("1.00", "XYZ") }
        assertThrows<SmartposException.InvalidAmount> { parseAmount("0", "CNY") }
    }

    @Test
    fun masksCardNumbers() {
        assertEquals("622202*********0123", maskPan("6222021234567890123"))
    }

    @Test
    fun explainsResponseCodes() {
        assertEquals("insufficient funds", responseMessage("51"))
    }
}
