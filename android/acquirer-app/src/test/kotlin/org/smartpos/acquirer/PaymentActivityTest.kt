package org.smartpos.acquirer

import android.content.Intent
import android.net.Uri
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.smartpos.android.PaymentResult
import org.smartpos.core.ResultCode
import org.smartpos.sdk.Money
import org.smartpos.sdk.PaymentClient

/**
 * A merchant app pays through the acquiring app's payment activity: the merchant SDK's intent,
 * the caller named by Android, the sample vendor's Kotlin drivers, the real core (JNA) and the
 * host simulator; the merchant SDK opens each signed result.
 */
@RunWith(RobolectricTestRunner::class)
class PaymentActivityTest : TerminalSuite() {

    private fun cny(minor: Long) = Money(minor.toULong(), "CNY")

    @Test
    fun a_card_sale_on_the_vendors_kotlin_drivers_is_approved_and_its_signed_result_opens_in_the_merchant_sdk() {
        t.presentCard()
        val r = t.pay({ a, p -> p.sale(a, cny(1234), "A-1") })
        assertTrue("$r", r is PaymentResult.Approved)
        val o = (r as PaymentResult.Approved).outcome
        assertEquals(1234uL, o.amount?.minor)
        assertEquals(Terminal.SHOP, o.caller)
        assertTrue("masked: ${o.maskedPan}", o.maskedPan.startsWith("622202") && o.maskedPan.contains("*") && !o.maskedPan.contains("1234567890"))
        assertEquals(6, o.authCode.length)
    }

    @Test
    fun the_banks_decline_is_declined() {
        t.presentCard(pan = "6222020000000000055") // insufficient funds above 1.00
        val r = t.pay({ a, p -> p.sale(a, cny(500), "A-2") })
        assertTrue("$r", r is PaymentResult.Declined)
        assertEquals("51", (r as PaymentResult.Declined).outcome.hostCode)
    }

    @Test
    fun the_customer_cancels_while_asked_for_the_card_and_nothing_is_charged() {
        val (shop, payments) = t.merchant()
        payments.sale(shop, cny(800), "A-3")
        val sent = shadowOf(shop).nextStartedActivityForResult
        val screen = t.open(sent.intent, Terminal.SHOP).get()
        // The customer presses back until the card wait is cancelled.
        val end = System.currentTimeMillis() + 30_000
        while (!screen.isFinishing && System.currentTimeMillis() < end) {
            @Suppress("DEPRECATION") screen.onBackPressed()
            shadowOf(android.os.Looper.getMainLooper()).idle()
            Thread.sleep(20)
        }
        Terminal.awaitFinish(screen)
        val r = payments.onActivityResult(sent.requestCode, shadowOf(screen).resultCode, shadowOf(screen).resultIntent)
        assertTrue("$r", r is PaymentResult.Declined)
        assertTrue((r as PaymentResult.Declined).outcome.message.contains("cancel", ignoreCase = true))
    }

    @Test
    fun an_app_the_market_did_not_sign_is_refused_as_caller() {
        t.presentCard()
        val r = t.pay({ a, p -> p.sale(a, cny(100), "A-4") }, caller = Terminal.STRANGER)
        assertTrue("$r", r is PaymentResult.Refused)
        assertEquals(ResultCode.REFUSED_CALLER, (r as PaymentResult.Refused).outcome.result)
    }

    @Test
    fun a_market_signed_app_asking_for_what_the_market_did_not_grant_is_refused() {
        t.presentCard()
        // The other shop's grants are sale, void, refund and query: no balance inquiry.
        val r = t.pay({ a, p -> p.balance(a, "A-9") }, caller = Terminal.OTHER_SHOP)
        assertEquals(ResultCode.REFUSED_PERMISSION, (r as PaymentResult.Refused).outcome.result)
        // The shop was granted it.
        t.presentCard()
        val ok = t.pay({ a, p -> p.balance(a, "A-10") })
        assertTrue("$ok", ok is PaymentResult.Approved)
        assertTrue((ok as PaymentResult.Approved).outcome.balance != null)
    }

    @Test
    fun the_right_package_with_another_signing_certificate_is_refused_as_caller() {
        t.install(Terminal.SHOP, Fixtures.apks.resolve("merchant.apk"), cert = ByteArray(300) { 7 })
        t.presentCard()
        val r = t.pay({ a, p -> p.sale(a, cny(100), "A-5") })
        assertEquals(ResultCode.REFUSED_CALLER, (r as PaymentResult.Refused).outcome.result)
    }

    @Test
    fun a_deep_link_without_a_caller_android_can_name_is_refused_and_the_answer_goes_to_its_callback() {
        t.presentCard()
        val sent = PaymentClient(t.owner.publicKeyHex, callback = "shop://paid").sale("A-6", cny(100))
        val screen = t.open(Intent(Intent.ACTION_VIEW, Uri.parse(sent.deepLink)), caller = null).get()
        Terminal.awaitFinish(screen)
        val back = shadowOf(screen).nextStartedActivity
        assertEquals(Intent.ACTION_VIEW, back.action)
        val link = back.dataString!!
        assertTrue(link, link.startsWith("shop://paid?"))
        val outcome = PaymentClient(t.owner.publicKeyHex).open(link, sent)
        assertEquals(ResultCode.REFUSED_CALLER, outcome.result)
    }

    @Test
    fun an_app_voids_and_refunds_its_own_sales_but_not_another_apps() {
        t.presentCard()
        val sale = t.pay({ a, p -> p.sale(a, cny(2000), "B-1") }) as PaymentResult.Approved
        t.presentCard()
        val void = t.pay({ a, p -> p.void(a, "B-1-void", sale.outcome.reference) })
        assertTrue("$void", void is PaymentResult.Approved)

        t.presentCard()
        val second = t.pay({ a, p -> p.sale(a, cny(3000), "B-2") }) as PaymentResult.Approved
        t.presentCard()
        val stolen = t.pay({ a, p -> p.refund(a, "X-1", second.outcome.reference, cny(3000)) }, caller = Terminal.OTHER_SHOP)
        assertTrue("$stolen", stolen is PaymentResult.Refused)
        assertEquals(ResultCode.REFUSED_PERMISSION, (stolen as PaymentResult.Refused).outcome.result)

        t.presentCard()
        val refund = t.pay({ a, p -> p.refund(a, "B-2-refund", second.outcome.reference, cny(1000)) })
        assertTrue("$refund", refund is PaymentResult.Approved)
        assertEquals(1000uL, (refund as PaymentResult.Approved).outcome.amount?.minor)
    }

    @Test
    fun a_second_request_while_one_runs_is_answered_busy_at_once() {
        val (shop, payments) = t.merchant()
        payments.sale(shop, cny(100), "C-1")
        val first = shadowOf(shop).nextStartedActivityForResult
        val running = t.open(first.intent, Terminal.SHOP).get() // waits for a card

        payments.sale(shop, cny(200), "C-2")
        val second = shadowOf(shop).nextStartedActivityForResult
        val busy = t.open(second.intent, Terminal.SHOP).get()
        Terminal.awaitFinish(busy, timeoutMs = 10_000)
        val r = payments.onActivityResult(second.requestCode, shadowOf(busy).resultCode, shadowOf(busy).resultIntent)
        assertEquals(ResultCode.REFUSED_BUSY, (r as PaymentResult.Refused).outcome.result)

        t.presentCard()
        Terminal.awaitFinish(running)
        val ok = payments.onActivityResult(first.requestCode, shadowOf(running).resultCode, shadowOf(running).resultIntent)
        assertTrue("$ok", ok is PaymentResult.Approved)
    }

    @Test
    fun a_screen_recreated_mid_payment_attaches_to_the_same_payment_and_charges_once() {
        val (shop, payments) = t.merchant()
        payments.sale(shop, cny(4321), "D-1")
        val sent = shadowOf(shop).nextStartedActivityForResult
        val controller = t.open(sent.intent, Terminal.SHOP)
        controller.recreate() // rotation while the terminal waits for the card
        t.presentCard()
        val screen = controller.get()
        Terminal.awaitFinish(screen)
        val r = payments.onActivityResult(sent.requestCode, shadowOf(screen).resultCode, shadowOf(screen).resultIntent)
        assertTrue("$r", r is PaymentResult.Approved)
        // One sale: the order's query answers the same reference.
        val q = t.pay({ a, p -> p.query(a, "D-1") })
        assertEquals((r as PaymentResult.Approved).outcome.reference, (q as PaymentResult.Approved).outcome.reference)
        assertNotEquals("", q.outcome.reference)
    }
}
