package org.smartpos.android

import android.app.Activity
import android.content.Intent
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.smartpos.core.Money

/**
 * The merchant SDK on its own (the acquiring app's answers are covered by the acquirer-app
 * suite): what it sends, and that nothing it cannot verify is taken for an answer.
 */
@RunWith(RobolectricTestRunner::class)
class SmartposPaymentsTest {
    private val key = "11".repeat(32)

    @Test
    fun a_sale_is_an_explicit_intent_to_the_acquiring_app_with_the_request_as_extras() {
        val activity = Robolectric.buildActivity(Activity::class.java).setup().get()
        val payments = SmartposPayments(activity, key)
        val sent = payments.sale(activity, Money(1234u, "CNY"), "A-1")
        val started = shadowOf(activity).nextStartedActivityForResult
        assertEquals(SmartposPayments.REQUEST_CODE, started.requestCode)
        assertEquals(SmartposPayments.ACTION_PAY, started.intent.action)
        assertEquals(SmartposPayments.ACQUIRER_PACKAGE, started.intent.`package`)
        assertEquals("sale", started.intent.getStringExtra("smartpos.type"))
        assertEquals("1234", started.intent.getStringExtra("smartpos.amount"))
        assertEquals(sent.nonce, started.intent.getStringExtra("smartpos.nonce"))
        assertEquals(listOf("A-1"), payments.pending.orders())
    }

    @Test
    fun no_result_a_forged_result_and_another_request_code_are_never_taken_for_an_answer() {
        val activity = Robolectric.buildActivity(Activity::class.java).setup().get()
        val payments = SmartposPayments(activity, key)
        val sent = payments.sale(activity, Money(500u, "CNY"), "A-2")

        assertNull(payments.onActivityResult(7, Activity.RESULT_OK, Intent()))
        val closed = payments.onActivityResult(SmartposPayments.REQUEST_CODE, Activity.RESULT_CANCELED, null)
        assertTrue("$closed", closed is PaymentResult.NoAnswer && closed.order == "A-2")

        // A result someone else made up for this order: well-formed, signed with another key.
        val forged = Intent().apply {
            sent.intentExtras.forEach { (k, v) -> putExtra(k, v) }
            putExtra("smartpos.code", "APPROVED")
            putExtra("smartpos.order", "A-2")
            putExtra("smartpos.sig", "00".repeat(64))
        }
        val r = payments.onActivityResult(SmartposPayments.REQUEST_CODE, Activity.RESULT_OK, forged)
        assertTrue("$r", r is PaymentResult.NoAnswer && r.reason.contains("could not be trusted"))
        // Still pending, and still after a restart (a new SmartposPayments over the same app).
        assertEquals(listOf("A-2"), SmartposPayments(activity, key).pending.orders())
    }

    @Test
    fun a_bad_request_is_refused_before_it_leaves_the_app() {
        val activity = Robolectric.buildActivity(Activity::class.java).setup().get()
        val payments = SmartposPayments(activity, key)
        val error = runCatching { payments.sale(activity, Money(0u, "CNY"), "A-3") }.exceptionOrNull()
        assertTrue("$error", error is org.smartpos.core.SmartposException.InvalidAmount)
        assertNull(shadowOf(activity).nextStartedActivityForResult)
        assertTrue(payments.pending.orders().isEmpty())
    }
}
