package org.smartpos.acquirer

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.smartpos.android.PaymentResult
import org.smartpos.core.PayMethod
import org.smartpos.sdk.Money

/** QR payments through the payment activity: the vendor's scanner, and the code on the screen. */
@RunWith(RobolectricTestRunner::class)
class QrPaymentTest : TerminalSuite() {

    @Test
    fun the_terminal_scans_the_customers_wechat_code_and_is_paid() {
        t.drivers.showCode("134567890123456789") // the customer's WeChat payment code
        val r = t.pay({ a, p -> p.sale(a, Money(1888u, "CNY"), "Q-1", PayMethod.QR_SCAN) })
        assertTrue("$r", r is PaymentResult.Approved)
        val o = (r as PaymentResult.Approved).outcome
        assertEquals("wechat", o.wallet.lowercase())
        assertEquals(1888uL, o.amount?.minor)
    }

    @Test
    fun the_payment_screen_shows_the_terminals_code_and_the_customer_pays_it() {
        val (shop, payments) = t.merchant()
        payments.sale(shop, Money(1200u, "CNY"), "Q-2", PayMethod.QR_DISPLAY)
        val sent = shadowOf(shop).nextStartedActivityForResult
        val screen = t.open(sent.intent, Terminal.SHOP).get()
        Terminal.awaitFinish(screen) // the simulated customer pays 4 s after the code appears
        val code = screen.shownCode
        assertNotNull("no code was shown", code)
        assertTrue(code!!, code.isNotBlank())
        val r = payments.onActivityResult(sent.requestCode, shadowOf(screen).resultCode, shadowOf(screen).resultIntent)
        assertTrue("$r", r is PaymentResult.Approved)
    }
}
