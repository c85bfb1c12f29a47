package org.smartpos.acquirer

import android.app.Activity
import android.content.ActivityNotFoundException
import android.content.Intent
import android.net.Uri
import android.os.Bundle
import android.util.Log
import android.view.Gravity
import android.widget.Button
import android.widget.LinearLayout
import android.widget.TextView
import org.smartpos.terminal.CodeScreen
import org.smartpos.terminal.RequestAnswer
import java.util.concurrent.ExecutionException
import java.util.concurrent.Future

/**
 * The acquiring app's payment screen: receives a merchant app's request (the explicit intent
 * `org.smartpos.action.PAY`, or the `smartpos://pay/v1` deep link), hands it with the caller
 * Android names to the [TerminalOwner], shows the steps (present card, PIN on the PIN pad,
 * the QR code for the customer to scan) and returns the signed result: with `setResult` for
 * the intent, and by opening the request's callback link for a deep link.
 *
 * Merchant apps use `SmartposPayments` (merchant SDK); by hand:
 * ```kotlin
 * startActivityForResult(Intent("org.smartpos.action.PAY").setPackage("org.smartpos.acquirer")
 *     .putExtra("smartpos.v", "1").putExtra("smartpos.type", "sale") /* ... */, 0x5350)
 * ```
 */
class PaymentActivity : Activity(), CodeScreen {
    private lateinit var status: TextView
    private lateinit var code: TextView
    private var request: IncomingRequest? = null
    private var owner: TerminalOwner? = null

    /** The QR payload shown for the customer to scan, if any (also for tests and screenshots). */
    @Volatile var shownCode: String? = null
        private set

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        status = TextView(this).apply { textSize = 22f; gravity = Gravity.CENTER }
        code = TextView(this).apply { textSize = 14f; gravity = Gravity.CENTER }
        val cancel = Button(this).apply { text = "Cancel"; setOnClickListener { owner?.cancel() } }
        val title = TextView(this).apply { textSize = 26f; gravity = Gravity.CENTER }
        setContentView(LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            gravity = Gravity.CENTER
            addView(title); addView(status); addView(code); addView(cancel)
        })

        val req = IncomingRequest.from(intent)
        if (req == null) return finishWithout("not a smartpos payment request")
        request = req
        val o = runCatching { TerminalOwner.get(this) }.onFailure { Log.e(TAG, "terminal unavailable", it) }.getOrNull()
            ?: return finishWithout("this terminal is not provisioned or its drivers are missing")
        owner = o
        title.text = describe(req)
        status.text = "Present the card, or follow the PIN pad"
        o.showCodesOn(this)
        val job = o.submit(req, CallerResolver.resolve(this))
        Thread({ await(job, req) }, "smartpos-answer").apply { isDaemon = true }.start()
    }

    override fun onDestroy() {
        owner?.showCodesOn(null)
        super.onDestroy()
    }

    @Deprecated("the customer's way out: cancels the card or PIN wait; the core answers")
    override fun onBackPressed() {
        owner?.cancel()
    }

    override fun showCode(payload: String) {
        shownCode = payload
        runOnUiThread {
            status.text = "Scan to pay"
            code.text = payload
        }
    }

    private fun await(job: Future<RequestAnswer>, req: IncomingRequest) {
        val answer = try {
            job.get()
        } catch (e: ExecutionException) {
            Log.e(TAG, "no answer", e.cause)
            null
        } catch (e: InterruptedException) {
            return
        }
        runOnUiThread {
            if (isDestroyed || isFinishing) return@runOnUiThread // a recreated screen delivers it
            owner?.delivered(req)
            if (answer == null) finishWithout("the terminal could not answer: query the order")
            else deliver(req, answer)
        }
    }

    private fun deliver(req: IncomingRequest, answer: RequestAnswer) {
        val extras = Intent().apply { answer.extras.forEach { (k, v) -> putExtra(k, v) } }
        setResult(RESULT_OK, extras)
        val back = answer.returnUri
        if (req is IncomingRequest.DeepLink && back != null) {
            try {
                startActivity(Intent(Intent.ACTION_VIEW, Uri.parse(back)).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK))
            } catch (e: ActivityNotFoundException) {
                Log.w(TAG, "no app handles the callback link; the merchant app queries its order")
            }
        }
        finish()
    }

    private fun finishWithout(reason: String) {
        setResult(RESULT_CANCELED, Intent().putExtra(EXTRA_ERROR, reason))
        finish()
    }

    private fun describe(req: IncomingRequest): String = when (req) {
        is IncomingRequest.Extras -> listOfNotNull(req.extras["smartpos.type"], req.extras["smartpos.amount"], req.extras["smartpos.order"]).joinToString("  ")
        is IncomingRequest.DeepLink -> "Payment request"
    }

    companion object {
        private const val TAG = "smartpos"

        /** Why the screen closed without a signed result (not provisioned, no request). */
        const val EXTRA_ERROR = "org.smartpos.error"
    }
}
