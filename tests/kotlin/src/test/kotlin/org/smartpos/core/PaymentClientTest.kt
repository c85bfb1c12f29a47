package org.smartpos.core

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.smartpos.sdk.Money
import org.smartpos.sdk.parse
import org.smartpos.sdk.PaymentClient

/** The merchant-side client through the generated bindings: requests and result checks. */
class PaymentClientTest {
    private val now = 1_795_385_000L
    private val publicKey = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
    private val client = PaymentClient(publicKey, callback = "shop://paid", clock = { now })

    @Test
    fun buildsDeepLinksTheTerminalHashesTheSameWay() {
        val sent = client.sale("A-1001", Money.parse("12.34", "CNY"), memo = "咖啡 + tea")
        val link = sent.deepLink!!
        assertTrue(link.startsWith("smartpos://pay/v1?v=1&type=sale&amount=1234&currency=CNY&order=A-1001"), link)
        assertTrue(link.contains("callback=shop%3A%2F%2Fpaid"), link)
        assertEquals(requestHashOfDeepLink(link), sent.requestHash)
        assertEquals(now + 120, sent.expires)
        assertEquals(Money(1234uL, "CNY"), sent.amount)
        val again = client.sale("A-1001", Money.parse("12.34", "CNY"))
        assertNotEquals(sent.nonce, again.nonce)
    }

    @Test
    fun intentExtrasWhenThereIsNoCallback() {
        val sent = PaymentClient(publicKey, clock = { now }).refund("R-1", "000000000002", Money.parse("1.00", "CNY"))
        assertNull(sent.deepLink)
        assertEquals("refund", sent.intentExtras["smartpos.type"])
        assertEquals("000000000002", sent.intentExtras["smartpos.orig_ref"])
        assertEquals("100", sent.intentExtras["smartpos.amount"])
    }

    @Test
    fun settlementAndQueryCarryNoAmount() {
        val settle = client.settle("DAY-1")
        assertTrue(settle.deepLink!!.startsWith("smartpos://pay/v1?v=1&type=settle&order=DAY-1&"), settle.deepLink)
        assertNull(settle.amount)
        val query = client.query("A-1001")
        assertTrue(query.deepLink!!.contains("type=query&order=A-1001"), query.deepLink)
        assertEquals(requestHashOfDeepLink(query.deepLink!!), query.requestHash)
    }

    @Test
    fun badRequestsFailBeforeLeavingTheApp() {
        val e = assertThrows<SmartposException.BadRequest> { client.sale("no spaces allowed", Money.parse("1", "CNY")) }
        assertEquals("order", e.field)
        val r = assertThrows<SmartposException.BadRequest> { client.void("V-1", "short") }
        assertEquals("orig_ref", r.field)
        assertThrows<SmartposException.BadRequest> { PaymentClient(publicKey, callback = "https://evil.example/").query("Q-1") }
        assertThrows<SmartposException.BadRequest> { PaymentClient(publicKey, validSecs = 601u).query("Q-1") }
    }

    // Signed by an independent Ed25519 implementation (Python cryptography) with secret key 07 * 32,
    // for a request whose hash is "aa..": a genuine terminal signature, but not for our request.
    private val foreignResult = "shop://paid?v=1&code=APPROVED&status=approved&request_hash=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&caller=com.example.merchant&order=K-1&type=sale&amount=1234&currency=CNY&masked_pan=622202%2A%2A%2A%2A%2A%2A%2A%2A%2A0123&auth_code=015838&reference=000000000002&trace=000002&batch=000001&terminal_id=10000001&merchant_id=898310048990001&time=1795385147&message=approved&host_code=00&balance=&method=card&wallet=&sig=7e80637e8c4a8f2dd3303fb03c07530bf0b4c51b117483f4031d26acb1ca66de1d792575a65c8367fdeddca7f6485b3a577ec095093f44e9ec7a6fd9d152bd07"

    @Test
    fun aGenuineResultForAnotherRequestIsRejected() {
        // The signature itself is good ...
        assertEquals("APPROVED", verifyResultUri(foreignResult, publicKey).code)
        // ... but it answers another request, so it is not a result for this one.
        val sent = client.sale("K-1", Money.parse("12.34", "CNY"))
        val e = assertThrows<SmartposException.BadResult> { client.open(foreignResult, sent) }
        assertTrue(e.reason.contains("another request"), e.reason)
        val extras = foreignResult.substringAfter('?').split('&').associate {
            val (k, v) = it.split('=', limit = 2)
            "smartpos.$k" to java.net.URLDecoder.decode(v, Charsets.UTF_8)
        }
        assertThrows<SmartposException.BadResult> { client.open(extras, sent) }
    }
}
