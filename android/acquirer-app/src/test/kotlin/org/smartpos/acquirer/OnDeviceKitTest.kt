package org.smartpos.acquirer

import org.json.JSONObject
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf

/** The conformance kit run on the device by the acquiring app, over the drivers it pays with. */
@RunWith(RobolectricTestRunner::class)
class OnDeviceKitTest : TerminalSuite() {
    @After fun clearJig() { ConformanceActivity.operatorForTests = null }

    @Test
    fun the_kit_runs_on_the_device_over_the_apps_drivers_and_writes_the_report_for_the_bank() {
        // The sample set doubles as its own jig: it presents cards and keys PINs itself.
        ConformanceActivity.operatorForTests = t.drivers
        val kit = Robolectric.buildActivity(ConformanceActivity::class.java).setup().get()
        val end = System.currentTimeMillis() + 120_000
        while (kit.report == null) {
            check(System.currentTimeMillis() < end) { "the kit did not finish" }
            shadowOf(android.os.Looper.getMainLooper()).idle()
            Thread.sleep(20)
        }
        val checks = kit.report!!
        assertTrue("${checks.size} checks", checks.size >= 30)
        assertEquals(emptyList<String>(), checks.filter { !it.passed }.map { "${it.id}: ${it.detail}" })
        val json = JSONObject(ConformanceActivity.reportFile(kit).readText())
        assertTrue(json.getBoolean("passed"))
        assertEquals(checks.size, json.getJSONArray("checks").length())
    }
}
