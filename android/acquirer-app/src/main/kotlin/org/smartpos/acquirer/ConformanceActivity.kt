package org.smartpos.acquirer

import android.app.Activity
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.view.Gravity
import android.widget.Button
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import org.json.JSONArray
import org.json.JSONObject
import org.smartpos.terminal.ConformanceCheck
import org.smartpos.terminal.ConformanceOperator
import org.smartpos.terminal.PaperState
import org.smartpos.terminal.runConformance
import java.io.File
import java.util.concurrent.SynchronousQueue

/**
 * The conformance kit on the device itself: the same checks `scripts/vendor-kit.sh` runs on the
 * JVM, against the drivers this acquiring app was built with, with a person as the operator (the
 * screen says what to do: present the test card, key the PIN, open the printer cover; Done,
 * Yes and No answer). The report is written to `files/smartpos/conformance-report.json` in the
 * kit's JSON form, for the bank.
 *
 * ```xml
 * <activity android:name="org.smartpos.acquirer.ConformanceActivity" android:exported="false" />
 * ```
 */
class ConformanceActivity : Activity() {
    private lateinit var prompt: TextView
    private lateinit var output: TextView
    private val answers = SynchronousQueue<Boolean>()

    /** The checks of the last run (null while running). */
    @Volatile var report: List<ConformanceCheck>? = null
        private set

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        prompt = TextView(this).apply { textSize = 20f; gravity = Gravity.CENTER }
        output = TextView(this).apply { textSize = 12f }
        val done = Button(this).apply { text = "Done"; setOnClickListener { answers.offer(true) } }
        val yes = Button(this).apply { text = "Yes"; setOnClickListener { answers.offer(true) } }
        val no = Button(this).apply { text = "No"; setOnClickListener { answers.offer(false) } }
        setContentView(ScrollView(this).apply {
            addView(LinearLayout(this@ConformanceActivity).apply {
                orientation = LinearLayout.VERTICAL
                addView(prompt); addView(done); addView(yes); addView(no); addView(output)
            })
        })
        val drivers = TerminalOwner.current()?.drivers ?: DriverFactory.fromManifest(this).create(this)
        val printer = drivers.printer
        val scanner = drivers.scanner
        val device = drivers.device
        if (printer == null || scanner == null || device == null) {
            prompt.text = "This driver set has no printer, scanner or device information: the kit needs all five drivers."
            return
        }
        val operator = operatorForTests ?: ScreenOperator()
        Thread({
            val checks = runConformance(drivers.cardReader, drivers.pinPad, printer, scanner, device, operator)
            reportFile(this).apply { parentFile?.mkdirs() }.writeText(toJson(checks))
            report = checks
            runOnUiThread {
                val failed = checks.filter { !it.passed }
                prompt.text = if (failed.isEmpty()) "All ${checks.size} checks passed" else "${failed.size} of ${checks.size} checks failed"
                output.text = checks.joinToString("\n") { "${if (it.passed) "pass" else "FAIL"}  ${it.id}  ${it.detail}" }
            }
        }, "smartpos-conformance").apply { isDaemon = true }.start()
    }

    /** A person at the device: each step is shown, and the kit waits for the answer. */
    private inner class ScreenOperator : ConformanceOperator {
        private fun ask(text: String): Boolean {
            Handler(Looper.getMainLooper()).post { prompt.text = text }
            return answers.take()
        }
        override fun presentCard(track2: String) { ask("Present the test card (track 2 $track2), then Done") }
        override fun enterPin(pin: String) { ask("Key the PIN $pin on the PIN pad, then Done") }
        override fun bypassPin() { ask("Press Enter on the PIN pad without a PIN, then Done") }
        override fun showCode(text: String) { ask("Show the scanner the code $text, then Done") }
        override fun setPaper(status: PaperState) { ask("Set the printer to: $status, then Done") }
        override fun presentUnreadableCard() { ask("Present a card the reader cannot read, then Done") }
        override fun presentChipCard(track2: String) { ask("Insert the test chip card (track 2 $track2) and leave it in, then Done") }
        override fun takePrintout(): Boolean = ask("Did the printer print? Tear it off: Yes or No")
        override fun showPrintoutQr() { ask("Show the scanner the QR code on the printout, then Done") }
        override fun printoutHasBitmap(width: UInt, pixels: List<Boolean>): Boolean =
            ask("Does the printout carry the test pattern ($width dots wide)? Yes or No")
    }

    companion object {
        /** An operator that acts without a person (tests, a vendor's jig). */
        @Volatile var operatorForTests: ConformanceOperator? = null

        /** Where the report is written. */
        fun reportFile(activity: Activity) = File(activity.filesDir, "smartpos/conformance-report.json")

        /** The kit's JSON form of [checks] (what `smartpos hal conformance --json` prints). */
        fun toJson(checks: List<ConformanceCheck>): String = JSONObject().apply {
            put("passed", checks.all { it.passed })
            put("checks", JSONArray().apply {
                checks.forEach { c ->
                    put(JSONObject().apply {
                        put("id", c.id); put("contract", c.contract); put("section", c.section)
                        put("passed", c.passed); put("detail", c.detail)
                    })
                }
            })
        }.toString(2)
    }
}
