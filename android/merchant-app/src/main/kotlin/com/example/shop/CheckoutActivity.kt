package com.example.shop

import android.app.Activity
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Bundle
import android.widget.Button
import android.widget.LinearLayout
import android.widget.TextView
import org.smartpos.android.PaymentResult
import org.smartpos.android.SmartposPayments
import org.smartpos.sdk.Money
import org.smartpos.sdk.parse

/**
 * The sample shop's checkout: one button takes 12.34 CNY through the acquiring app; the
 * result decides what the shop does. Orders still pending (the app was killed, or the result
 * was unknown) are queried when the screen opens again.
 *
 * ```kotlin
 * payments.sale(this, Money.parse("12.34", "CNY"), orderId = nextOrderId())
 * ```
 */
class CheckoutActivity : Activity() {
    /** The payments client; the key comes from the manifest unless a test gives one. */
    lateinit var payments: SmartposPayments
    private lateinit var status: TextView

    /** What the shop did with the last result (for the screen and tests). */
    var last: PaymentResult? = null
        private set

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        if (!::payments.isInitialized) payments = SmartposPayments(this, terminalKey ?: manifestKey())
        status = TextView(this)
        val pay = Button(this).apply { text = "Pay 12.34"; setOnClickListener { pay() } }
        setContentView(LinearLayout(this).apply { orientation = LinearLayout.VERTICAL; addView(status); addView(pay) })
        // Recovery: a result that never arrived is asked for by its order id.
        payments.pending.orders().firstOrNull()?.let { payments.query(this, it) }
    }

    /** Takes 12.34 CNY for a new order. */
    fun pay() {
        payments.sale(this, Money.parse("12.34", "CNY"), "shop-${System.currentTimeMillis()}")
    }

    @Deprecated("framework callback")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        val r = payments.onActivityResult(requestCode, resultCode, data)
            ?: return super.onActivityResult(requestCode, resultCode, data)
        last = r
        status.text = when (r) {
            is PaymentResult.Approved -> "Paid: ${r.outcome.reference} ${r.outcome.maskedPan}"
            is PaymentResult.Declined -> "Not charged: ${r.outcome.message}"
            is PaymentResult.Unknown, is PaymentResult.NoAnswer -> "Pending: ${r.order} (do not charge again)"
            is PaymentResult.Refused -> "Refused: ${r.outcome.message}"
            is PaymentResult.Error -> "Not taken: ${r.outcome.message}"
        }
    }

    private fun manifestKey(): String = packageManager.getApplicationInfo(packageName, PackageManager.GET_META_DATA)
        .metaData?.getString("org.smartpos.terminal_key") ?: error("no org.smartpos.terminal_key meta-data")

    companion object {
        /** A key given before the activity starts (tests, or an app that fetched it). */
        @Volatile var terminalKey: String? = null
    }
}
