package org.smartpos.core

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.smartpos.sdk.display
import org.smartpos.sdk.parse

/** Calls the Rust core through the generated bindings, the way a merchant app on the terminal would. */
class BindingsTest {
    @Test
    fun parsesAmountsExactlyThroughTheCore() {
        assertEquals(Money(1234uL, "CNY"), parseAmount("12.34", "CNY"))
        assertEquals(1uL, Money.parse("0.01", "CNY").minor)
        assertEquals("CNY 12.34", Money.parse("12.34", "CNY").display())
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

    // Signed by an independent Ed25519 implementation (Python cryptography) with secret key 07 * 32.
    private val signedUri = "shop://paid?v=1&code=APPROVED&status=approved&request_hash=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&caller=com.example.merchant&order=K-1&type=sale&amount=1234&currency=CNY&masked_pan=622202%2A%2A%2A%2A%2A%2A%2A%2A%2A0123&auth_code=015838&reference=000000000002&trace=000002&batch=000001&terminal_id=10000001&merchant_id=898310048990001&time=1795385147&message=approved&host_code=00&balance=&method=card&wallet=&sig=7e80637e8c4a8f2dd3303fb03c07530bf0b4c51b117483f4031d26acb1ca66de1d792575a65c8367fdeddca7f6485b3a577ec095093f44e9ec7a6fd9d152bd07"
    private val publicKey = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"

    @Test
    fun verifiesSignedResults() {
        val r = verifyResultUri(signedUri, publicKey)
        assertEquals(ResultCode.APPROVED, r.result)
        assertEquals(PaymentStatus.APPROVED, r.status)
        assertEquals("APPROVED", r.code)
        assertEquals("K-1", r.order)
        assertEquals(Money(1234uL, "CNY"), r.amount)
        assertEquals("622202*********0123", r.maskedPan)
        assertThrows<SmartposException.BadResult> { verifyResultUri(signedUri.replace("amount=1234", "amount=1"), publicKey) }
        assertThrows<SmartposException.BadResult> { verifyResultUri(signedUri.replace("code=APPROVED", "code=DECLINED"), publicKey) }
        assertThrows<SmartposException.BadResult> { verifyResultUri(signedUri, "00".repeat(32)) }
        assertThrows<SmartposException.BadResult> { verifyResultUri("shop://paid", publicKey) }
    }

    @Test
    fun requestHashIsOrderIndependent() {
        val a = requestHashOfDeepLink("smartpos://pay/v1?v=1&type=sale&order=A")
        val b = requestHashOfDeepLink("smartpos://pay/v1?order=A&type=sale&v=1")
        assertEquals(a, b)
        assertEquals(64, a.length)
    }

    @Test
    fun explainsResponseCodes() {
        assertEquals("insufficient funds", responseMessage("51"))
    }
}
