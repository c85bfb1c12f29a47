package org.smartpos.sdk

import org.smartpos.core.PayMethod
import org.smartpos.core.PaymentOutcome
import org.smartpos.core.PaymentSpec
import org.smartpos.core.PaymentType
import org.smartpos.core.SentRequest
import org.smartpos.core.buildPaymentRequest
import org.smartpos.core.openResultExtras
import org.smartpos.core.openResultUri

/**
 * The merchant app's side of the payment handoff: builds requests the acquiring app accepts and
 * opens its signed results only when they answer them.
 *
 * Every request is checked by the core's own parser before it leaves the app, so a bad field is
 * a `SmartposException.BadRequest` naming it. Every result is verified with the terminal's public
 * key and must carry the request hash, order id and amount of what was sent; otherwise
 * `SmartposException.BadResult` is thrown and the result must not be trusted (query the order).
 *
 * ```kotlin
 * val client = PaymentClient(terminalPublicKeyHex, callback = "shop://paid")
 * val sent = client.sale("A-1001", Money.parse("12.34", "CNY"))
 * startActivity(Intent(Intent.ACTION_VIEW, Uri.parse(sent.deepLink)))
 * // ... later, in the activity that receives shop://paid?...
 * val outcome = client.open(intent.data.toString(), sent)
 * when (outcome.status) {
 *     PaymentStatus.APPROVED -> deliver(outcome.reference)
 *     PaymentStatus.UNKNOWN -> showPending()        // never a failure: query the order later
 *     else -> showNotCharged(outcome.message)
 * }
 * ```
 *
 * @param terminalPublicKey the terminal's Ed25519 result key (64 hex digits), published by the bank.
 * @param callback deep link the results come back to; null sends requests as intent extras
 *   (for `startActivityForResult`).
 * @param validSecs how long a request stays acceptable (1 to 600 seconds).
 * @param clock Unix seconds; replaceable in tests.
 */
class PaymentClient(
    private val terminalPublicKey: String,
    private val callback: String? = null,
    private val validSecs: UInt = 120u,
    private val clock: () -> Long = { System.currentTimeMillis() / 1000 },
) {
    private fun send(spec: PaymentSpec): SentRequest =
        buildPaymentRequest(spec.copy(callback = spec.callback ?: callback), clock(), validSecs)


    /** A sale of [amount]; [method] null lets the customer choose card or QR. */
    fun sale(order: String, amount: Money, method: PayMethod? = null, memo: String? = null): SentRequest =
        send(PaymentSpec(kind = PaymentType.SALE, order = order, amount = amount, method = method, memo = memo))

    /** Voids the sale with retrieval reference [origRef] (same batch only). */
    fun void(order: String, origRef: String): SentRequest =
        send(PaymentSpec(kind = PaymentType.VOID, order = order, origRef = origRef))

    /** Refunds [amount] of the sale with retrieval reference [origRef]. */
    fun refund(order: String, origRef: String, amount: Money): SentRequest =
        send(PaymentSpec(kind = PaymentType.REFUND, order = order, origRef = origRef, amount = amount))

    /** Places a hold of [amount] (pre-authorization). */
    fun preauth(order: String, amount: Money): SentRequest =
        send(PaymentSpec(kind = PaymentType.PREAUTH, order = order, amount = amount))

    /** Completes the hold [origRef]/[origAuth] for [amount]. */
    fun preauthComplete(order: String, origRef: String, origAuth: String, amount: Money): SentRequest =
        send(PaymentSpec(kind = PaymentType.PREAUTH_COMPLETE, order = order, origRef = origRef, origAuth = origAuth, amount = amount))

    /** Releases the hold [origRef]/[origAuth]. */
    fun preauthVoid(order: String, origRef: String, origAuth: String): SentRequest =
        send(PaymentSpec(kind = PaymentType.PREAUTH_VOID, order = order, origRef = origRef, origAuth = origAuth))

    /** Voids the completion [origRef] (same batch only). */
    fun completeVoid(order: String, origRef: String): SentRequest =
        send(PaymentSpec(kind = PaymentType.COMPLETE_VOID, order = order, origRef = origRef))

    /** Asks for the card's available balance (moves no money). */
    fun balance(order: String): SentRequest = send(PaymentSpec(kind = PaymentType.BALANCE, order = order))

    /**
     * Closes the terminal's current batch with the bank (needs the `settle` permission). The
     * result's `batch` is the closed batch; [order] only labels the request.
     */
    fun settle(order: String): SentRequest = send(PaymentSpec(kind = PaymentType.SETTLE, order = order))

    /**
     * Asks for the result of [order], e.g. after the app was killed or a result was UNKNOWN. The
     * terminal first tries to finish an order still being resolved.
     */
    fun query(order: String): SentRequest = send(PaymentSpec(kind = PaymentType.QUERY, order = order))

    /** Any request, for what the shortcuts above do not cover; its own callback wins over the client's. */
    fun request(spec: PaymentSpec): SentRequest = send(spec)

    /** Opens a result deep link (`callback?...`) against the request it answers. */
    fun open(resultUri: String, sent: SentRequest): PaymentOutcome = openResultUri(resultUri, terminalPublicKey, sent)

    /** Opens `startActivityForResult` result extras against the request they answer. */
    fun open(resultExtras: Map<String, String>, sent: SentRequest): PaymentOutcome =
        openResultExtras(resultExtras, terminalPublicKey, sent)
}
