package io.peft4j.golden;

import ai.djl.ndarray.NDManager;
import io.peft4j.instrument.AdviceErrors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Base of tests that run DJL models with adapters: a fresh {@link NDManager} per test, and a failure when any hook
 * suppressed an error during the test (suppressed is never silent).
 */
public abstract class DjlTestCase {

    /** The test's manager, closed after it. */
    protected NDManager manager;

    @BeforeEach
    void openManager() {
        manager = NDManager.newBaseManager();
        AdviceErrors.reset();
    }

    @AfterEach
    void closeManagerAndCheckHooks() {
        manager.close();
        assertEquals(0, AdviceErrors.count(), "suppressed advice errors");
    }
}
