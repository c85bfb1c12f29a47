package com.example.vendor

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.smartpos.terminal.runConformance

class ConformanceTest {
    @Test
    fun sampleDriversPassTheConformanceKit() {
        val set = SampleDriverSet()
        val checks = runConformance(set.cardReader, set.pinPad, set.printer, set.scanner, set.device, set)
        val failed = checks.filter { !it.passed }
        assertTrue(failed.isEmpty(), failed.joinToString("\n") { "${it.id}: ${it.contract} -- ${it.detail}" })
        assertEquals(41, checks.size)
        assertTrue(set.printer.printed.any { it.contains("一致性") }, "the printed job reached the Kotlin printer")
    }

    @Test
    fun aPinPadThatSkipsCheckValuesFailsByName() {
        val lax = object : SamplePinPad() {
            override fun checkValueMatches(clearKey: ByteArray, kcv: ByteArray) = true
        }
        val set = SampleDriverSet(lax)
        val failed = runConformance(set.cardReader, set.pinPad, set.printer, set.scanner, set.device, set).filter { !it.passed }.map { it.id }
        assertEquals(listOf("pin_pad.working_key_kcv"), failed)
    }
}
