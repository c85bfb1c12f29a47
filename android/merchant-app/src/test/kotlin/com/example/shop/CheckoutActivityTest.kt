package com.example.shop

import android.app.Activity
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.smartpos.android.PaymentResult
import org.smartpos.android.SmartposPayments

/** The sample shop's own behaviour; its payments through the acquiring app are in the acquirer-app suite. */
@RunWith(RobolectricTestRunner::class)
class CheckoutActivityTest {
    @After fun clear() { CheckoutActivity.terminalKey = null }

    @Test
    fun paying_hands_an_explicit_sale_to_the_acquiring_app_and_a_lost_answer_is_queried_on_return() {
        CheckoutActivity.terminalKey = "22".repeat(32)
        val controller = Robolectric.buildActivity(CheckoutActivity::class.java).setup()
        val shop = controller.get()
        shop.pay()
        val sale = shadowOf(shop).nextStartedActivityForResult
        assertEquals(SmartposPayments.ACTION_PAY, sale.intent.action)
        assertEquals("1234", sale.intent.getStringExtra("smartpos.amount"))
        val order = sale.intent.getStringExtra("smartpos.order")!!

        // The acquiring app went away without an answer: pending, never "failed".
        shadowOf(shop).receiveResult(sale.intent, Activity.RESULT_CANCELED, null)
        assertTrue("${shop.last}", shop.last is PaymentResult.NoAnswer)

        // The shop is opened again (as after a kill): it asks for the order by its id.
        val again = Robolectric.buildActivity(CheckoutActivity::class.java).setup().get()
        val query = shadowOf(again).nextStartedActivityForResult
        assertEquals("query", query.intent.getStringExtra("smartpos.type"))
        assertEquals(order, query.intent.getStringExtra("smartpos.order"))
    }
}
