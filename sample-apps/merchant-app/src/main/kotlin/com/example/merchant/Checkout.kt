package com.example.merchant

import org.smartpos.core.PaymentOutcome
import org.smartpos.core.PaymentStatus
import org.smartpos.core.ResultCode
import org.smartpos.core.SentRequest
import org.smartpos.core.SmartposException
import org.smartpos.sdk.Money
import org.smartpos.sdk.PaymentClient

/**
 * Hands a request to the acquiring app and returns the result deep link it answers with.
 *
 * On a terminal this is `startActivity(Intent(ACTION_VIEW, Uri.parse(sent.deepLink)))` and the
 * activity registered for the callback scheme receiving `shop://paid?...`; in this sample it is
 * [SimulatedTerminal]. It may throw when the app dies or the hand-over is lost: the order then
 * stays pending and [Checkout.recover] finds its result.
 */
fun interface AcquiringApp {
    /** Delivers [request] and waits for the result deep link. */
    fun handle(request: SentRequest): String
}

/** What the shop does with a payment, decided only from a verified result. */
sealed interface Payment {
    /** The order id. */
    val order: String

    /** Charged: hand over the goods. Keep [reference] for refunds and reconciliation. */
    data class Paid(override val order: String, val reference: String, val maskedPan: String) : Payment

    /**
     * Definitely not charged; a new attempt needs a new order id. [hostCode] is the bank's
     * response code when the bank declined (e.g. `51`), else empty.
     */
    data class NotCharged(override val order: String, val reason: String, val hostCode: String = "") : Payment

    /**
     * Not known yet (the bank's answer was lost, or the result could not be trusted). Never a
     * failure: do not hand over the goods and do not charge again; [Checkout.recover] resolves it.
     */
    data class Pending(override val order: String, val reason: String) : Payment

    /** The terminal refused the request (permission, busy, ...); nothing was sent to the bank. */
    data class Refused(override val order: String, val code: String, val reason: String) : Payment
}

/**
 * The sample shop's checkout. An order is written to [pending] before it is handed over and
 * removed only when its verified result is final, so a kill at any point loses nothing.
 *
 * ```kotlin
 * val checkout = Checkout(PaymentClient(terminalKey, callback = "shop://paid"), acquiringApp, PendingOrders(file))
 * checkout.recover()                              // at start: finish what a kill interrupted
 * when (val p = checkout.pay("A-1001", Money.parse("12.34", "CNY"))) {
 *     is Payment.Paid -> deliver(p.reference)
 *     is Payment.Pending -> showPending()
 *     else -> showNotPaid(p)
 * }
 * ```
 */
class Checkout(
    private val client: PaymentClient,
    private val acquirer: AcquiringApp,
    private val pending: PendingOrders,
) {
    /** Takes a payment of [amount] for [order]. */
    fun pay(order: String, amount: Money): Payment = run(order) { client.sale(order, amount) }

    /** Refunds [amount] of the sale with retrieval reference [origRef], as order [order]. */
    fun refund(order: String, origRef: String, amount: Money): Payment =
        run(order) { client.refund(order, origRef, amount) }

    /**
     * Asks the terminal for the result of every pending order; those now final leave the pending
     * list. Returns what each order came to.
     */
    fun recover(): List<Payment> = pending.all().map { order -> run(order) { client.query(order) } }

    private fun run(order: String, build: () -> SentRequest): Payment {
        val sent = build()
        pending.add(order)
        val uri = acquirer.handle(sent)
        val outcome = try {
            client.open(uri, sent)
        } catch (e: SmartposException.BadResult) {
            return Payment.Pending(order, "result not trusted (${e.reason}); will query the order")
        }
        val payment = decide(outcome)
        if (payment !is Payment.Pending) pending.remove(order)
        return payment
    }

    private fun decide(o: PaymentOutcome): Payment = when (o.status) {
        PaymentStatus.APPROVED -> Payment.Paid(o.order, o.reference, o.maskedPan)
        PaymentStatus.DECLINED -> Payment.NotCharged(o.order, o.message, o.hostCode)
        PaymentStatus.UNKNOWN -> Payment.Pending(o.order, o.message)
        PaymentStatus.REFUSED, PaymentStatus.ERROR -> when (o.result) {
            // Another transaction was running: this order was not started; try it again later.
            ResultCode.REFUSED_BUSY -> Payment.Pending(o.order, o.message)
            // A query of an order the terminal never received: it was never charged.
            ResultCode.NOT_FOUND -> Payment.NotCharged(o.order, "the terminal never received this order")
            else -> Payment.Refused(o.order, o.code, o.message)
        }
    }
}
