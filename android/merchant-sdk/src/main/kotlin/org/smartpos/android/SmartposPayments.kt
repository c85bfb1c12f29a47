package org.smartpos.android

import android.app.Activity
import android.content.Context
import android.content.Intent
import org.smartpos.core.PayMethod
import org.smartpos.core.SentRequest
import org.smartpos.core.SmartposException
import org.smartpos.sdk.Money
import org.smartpos.sdk.PaymentClient
import kotlin.coroutines.Continuation
import kotlin.coroutines.resume
import kotlin.coroutines.suspendCoroutine

/**
 * Payments on this terminal for an Android merchant app: each request goes to the acquiring
 * app's payment activity (an explicit intent, action [ACTION_PAY], through
 * `startActivityForResult`, so the terminal knows from Android which app is asking), and its
 * signed result comes back to your activity's `onActivityResult`.
 *
 * ```kotlin
 * class CheckoutActivity : Activity() {
 *     private val payments by lazy { SmartposPayments(this, TERMINAL_PUBLIC_KEY) }
 *
 *     fun pay() = payments.sale(this, Money.parse("12.34", "CNY"), orderId = "A-1001")
 *
 *     override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
 *         when (val r = payments.onActivityResult(requestCode, resultCode, data)) {
 *             is PaymentResult.Approved -> deliver(r.outcome.reference)
 *             is PaymentResult.Unknown, is PaymentResult.NoAnswer -> showPending(r.order)
 *             null -> super.onActivityResult(requestCode, resultCode, data)
 *             else -> showNotCharged(r.order)
 *         }
 *     }
 * }
 * ```
 *
 * With coroutines, `val r = payments.pay(this, payments.client.sale("A-1001", amount))` suspends
 * until the result (your activity still forwards `onActivityResult`).
 *
 * Requests are kept in [PendingRequests] until their final answer, so a result that arrives
 * after your app was killed is still verified, and [PendingRequests.orders] says what to query.
 *
 * @param terminalPublicKey the terminal's result key (64 hex digits), published by the bank.
 * @param acquirerPackage the acquiring app's package.
 * @param clock Unix seconds; replaceable in tests.
 */
class SmartposPayments(
    context: Context,
    private val terminalPublicKey: String,
    private val acquirerPackage: String = ACQUIRER_PACKAGE,
    clock: () -> Long = { System.currentTimeMillis() / 1000 },
) {
    /** The protocol client (requests as intent extras, results checked against them). */
    val client = PaymentClient(terminalPublicKey, callback = null, clock = clock)

    /** Requests without a final answer yet. */
    val pending = PendingRequests(context.applicationContext ?: context)

    private val waiting = HashMap<String, Continuation<PaymentResult>>()

    /** Starts a sale of [amount] for [orderId]; [method] null lets the customer choose card or QR. */
    fun sale(activity: Activity, amount: Money, orderId: String, method: PayMethod? = null): SentRequest =
        start(activity, client.sale(orderId, amount, method))

    /** Voids this app's sale with retrieval reference [origRef] (same batch only). */
    fun void(activity: Activity, orderId: String, origRef: String): SentRequest =
        start(activity, client.void(orderId, origRef))

    /** Refunds [amount] of this app's sale with retrieval reference [origRef]. */
    fun refund(activity: Activity, orderId: String, origRef: String, amount: Money): SentRequest =
        start(activity, client.refund(orderId, origRef, amount))

    /** Asks for the card's available balance (moves no money; needs the `balance` grant). */
    fun balance(activity: Activity, orderId: String): SentRequest = start(activity, client.balance(orderId))

    /** Asks the terminal for the final result of [orderId] (after a kill, or an UNKNOWN result). */
    fun query(activity: Activity, orderId: String): SentRequest = start(activity, client.query(orderId))

    /** Hands [sent] to the acquiring app; keep it pending until its final answer. */
    fun start(activity: Activity, sent: SentRequest): SentRequest {
        pending.save(sent)
        activity.startActivityForResult(intentFor(sent), REQUEST_CODE)
        return sent
    }

    /** The explicit intent for [sent]: action [ACTION_PAY], the acquiring app's package, the request as extras. */
    fun intentFor(sent: SentRequest): Intent = Intent(ACTION_PAY).setPackage(acquirerPackage).apply {
        sent.intentExtras.forEach { (k, v) -> putExtra(k, v) }
    }

    /**
     * Opens the acquiring app's answer. Call it from `Activity.onActivityResult`; it returns
     * null for another request code. A result that is not signed by the terminal, or does not
     * answer the request kept for its order, is [PaymentResult.NoAnswer]: query the order.
     */
    fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?): PaymentResult? {
        if (requestCode != REQUEST_CODE) return null
        val extras = data?.extras?.keySet().orEmpty()
            .filter { it.startsWith("smartpos.") }
            .associateWith { data?.getStringExtra(it) ?: "" }
        val order = extras["smartpos.order"]?.takeIf { pending.get(it) != null } ?: pending.last() ?: ""
        val result = open(order, extras, resultCode)
        when (result) {
            is PaymentResult.Unknown, is PaymentResult.NoAnswer -> Unit
            else -> pending.remove(order)
        }
        (waiting.remove(order) ?: waiting.remove(""))?.resume(result)
        return result
    }

    /** Starts [sent] and suspends until [onActivityResult] receives its answer. */
    suspend fun pay(activity: Activity, sent: SentRequest): PaymentResult = suspendCoroutine { cont ->
        waiting[sent.order] = cont
        start(activity, sent)
    }

    private fun open(order: String, extras: Map<String, String>, resultCode: Int): PaymentResult {
        val sent = pending.get(order)
            ?: return PaymentResult.NoAnswer(order, "no request of this app is pending for order '$order'")
        if (extras.isEmpty()) {
            val why = if (resultCode == Activity.RESULT_CANCELED) "the payment screen closed without a result" else "no result"
            return PaymentResult.NoAnswer(order, "$why: query the order")
        }
        return try {
            PaymentResult.of(client.open(extras, sent))
        } catch (e: SmartposException) {
            PaymentResult.NoAnswer(order, "the result could not be trusted (${e.message}): query the order")
        }
    }

    companion object {
        /** The action of the acquiring app's payment activity. */
        const val ACTION_PAY = "org.smartpos.action.PAY"

        /** The acquiring app's package. */
        const val ACQUIRER_PACKAGE = "org.smartpos.acquirer"

        /** The request code of payment requests (`onActivityResult`). */
        const val REQUEST_CODE = 0x5350
    }
}
